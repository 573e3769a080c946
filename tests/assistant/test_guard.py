from assistant.guard import check, fact_tokens

ORDER = r"MM\d{8}"


def test_fact_tokens_are_normalised_across_ways_of_writing_them():
    assert fact_tokens("满2,000减30") == fact_tokens("满两千减三十") == {"2000", "30"}
    assert fact_tokens("3-5 days") == fact_tokens("three to five days") == fact_tokens("三五天") == {"3", "5"}
    assert fact_tokens("costs 9.90 yuan") == {"9.9"} and fact_tokens("order 07") == {"7"}
    assert fact_tokens("see https://www.Shop.example/returns/.") == {"url:shop.example/returns"}
    assert fact_tokens("mail help@shop.example about MM20261104", ORDER) == {"help@shop.example", "MM20261104"}
    # Articles and idioms are not facts: "one of our agents", "一个订单", "稍等一下".
    assert fact_tokens("one of our agents will check 一个订单, 稍等一下") == set()


def test_a_draft_passes_only_with_every_fact_in_a_source_or_the_message():
    sources = ["Refunds reach your account in 3-5 working days. Questions: help@shop.example"]
    assert check("Your refund takes three to five working days.", sources, "refund?", lang="en").ok
    verdict = check("Your refund takes 7 days.", sources, "refund?", lang="en")
    assert not verdict.ok and verdict.unsupported == ("7",) and "7" in verdict.reason
    assert not check("Write to refunds@shop.example", sources, "refund?", lang="en").ok
    assert check("Order MM20261104 is refunded in 3-5 days.", sources, "refund for mm20261104?", lang="en",
                 order_id_pattern=ORDER).ok  # the customer's own order id
    assert not check("Order MM20261105 is refunded in 3-5 days.", sources, "refund for MM20261104?", lang="en",
                     order_id_pattern=ORDER).ok
    assert not check("退款3到5个工作日到账", sources, "refund?", lang="en").ok  # not the customer's language
    assert check("退款3到5个工作日到账", ["退款三到五个工作日到账"], "退款多久", lang="zh").ok
    assert not check("  ", sources, "refund?", lang="en").ok


def test_typed_values_and_chinese_numerals_are_read_whole():
    # Times, dates and percentages are one token each: swapped opening hours or rates are caught.
    assert not check("We open at 18:00 and close at 9:30.", ["Open 9:00-18:30."], "hours?", lang="en").ok
    assert not check("30 days, with a 5% fee.", ["5 days, with a 30% fee."], "fee?", lang="en").ok
    assert fact_tokens("2026-11-04 发货, 11月4日到") == {"date:2026-11-4", "date:11-4"}
    # A numeral beside a unit is a number, not an idiom: 三十分钟 is thirty minutes; 十分 alone is "very".
    assert not check("退款三十分钟内到账", ["退款3天内到账"], "退款多久", lang="zh").ok
    assert fact_tokens("十分感谢，万分抱歉，百忙之中给五星好评") == set()
    assert fact_tokens("两千") == fact_tokens("2千") == fact_tokens("2,000") == {"2000"}
    assert fact_tokens("1.5万") == {"15000"} and fact_tokens("two thousand yuan") == {"2000"}
    # "one" and 一 count before a measure, not as articles.
    assert not check("Delivery takes one day.", ["Delivery takes 3 days."], "delivery?", lang="en").ok
    assert not check("一天内发货", ["3天内发货"], "多久发货", lang="zh").ok
    # Full-width digits, bare domains, and an e-mail address inside Chinese text.
    assert check("３天内发货", ["3天内发货"], "多久发货", lang="zh").ok
    assert not check("Please pay at evil.example/pay", ["Pay at checkout."], "pay?", lang="en").ok
    assert check("请发邮件至help@shop.example查询", ["有问题请发邮件到 help@shop.example，我们会尽快查询"], "怎么联系",
                 lang="zh").ok


def test_a_fluent_reply_about_something_else_is_not_sent():
    sources = ["退款三到五个工作日到账，可在我的订单查看进度"]
    assert check("退款3到5个工作日到账", sources, "退款多久", lang="zh").ok
    verdict = check("抱歉,无理由退货了,请拍下单后,再见～我是枫叶商城的购物助手", sources, "退款多久", lang="zh")
    assert not verdict.ok and "not about them" in verdict.reason
