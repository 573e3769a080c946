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
