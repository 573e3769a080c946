"""What the assistant itself says (not from the shop's FAQ), in every supported language."""

PHRASES = {
    "empty": {
        "en": "Hi! Please type your question, for example about an order, shipping, a return or a product.",
        "zh": "您好！请输入您的问题，例如订单、配送、退换货或商品方面的问题。",
    },
    "clarify": {
        "en": "Sorry, I'm not sure I understood. Could you tell me a bit more, for example your order number "
              "or which product it is about? I can help with orders, shipping, returns, refunds, payments "
              "and products.",
        "zh": "抱歉，我没有完全理解您的问题。能否再具体说明一下，比如订单号或相关商品？我可以帮您处理订单、配送、"
              "退换货、退款、支付和商品方面的问题。",
    },
    "escalate": {
        "en": "I'm passing your conversation to one of our support agents now. An agent will reply here, "
              "in about {wait} minutes during service hours ({hours}).",
        "zh": "已为您转接人工客服，客服会在这里回复您。服务时间（{hours}）内预计约 {wait} 分钟回复。",
    },
    "hold": {
        "en": "Thanks, your message was added to the conversation. Our agent will answer here.",
        "zh": "收到，您的消息已转给客服，客服会在这里回复您。",
    },
    "truncated": {
        "en": "Your message was very long, so only its first {limit} characters were read.",
        "zh": "您的消息过长，仅读取了前 {limit} 个字符。",
    },
}

# What an answer's entity placeholders read when the customer's message did not give the value.
ENTITY_FILL = {
    "order_id": {"en": "order {value}", "zh": "订单 {value}"},
    "amount": {"en": "{value}", "zh": "{value}"},
}
ENTITY_FALLBACK = {
    "order_id": {"en": "your order", "zh": "您的订单"},
    "amount": {"en": "the amount you paid", "zh": "您支付的金额"},
}


def phrase(key: str, lang: str, **values: str) -> str:
    """A phrase in `lang` (English when the language is not covered), with its values filled in."""
    text = PHRASES[key].get(lang, PHRASES[key]["en"])
    return text.format(**values) if values else text
