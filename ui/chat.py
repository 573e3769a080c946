"""The customer chat (Gradio), mounted at `/`: bilingual, one conversation per browser, thumbs up/down
on replies, and a visible notice when an agent takes over."""

from __future__ import annotations

import html
import logging

import gradio as gr

from assistant.errors import EXPECTED_ERRORS, ConversationNotFound
from assistant.pipeline import Assistant

log = logging.getLogger(__name__)

# Interface texts; the browser's language picks one (Chinese for zh-*, English otherwise).
I18N = gr.I18n(
    en={"placeholder": "Type your question… (order, shipping, returns, products)", "send": "Send",
        "new": "New conversation", "examples": "Try asking", "chat": "Chat with Maple Market",
        "human": "Talk to a person",
        "empty_chat": "Hi! I'm the Maple Market assistant. Ask me about orders, shipping, returns, refunds, "
                      "payments or products — in English or Chinese."},
    zh={"placeholder": "请输入您的问题……（订单、配送、退换货、商品）", "send": "发送", "new": "新对话", "human": "转人工",
        "examples": "试试问", "chat": "枫叶商城在线客服",
        "empty_chat": "您好！我是枫叶商城智能客服，订单、配送、退换货、退款、支付和商品问题都可以问我，中英文均可。"},
)

EXAMPLES = ["Where is my order MM20261104?", "我想退货，怎么操作？", "How much is shipping?", "耳机坏了，能保修吗"]

CSS = """
.gradio-container {max-width: 860px !important; margin: 0 auto !important;}
#shop-header {text-align: center; padding: 8px 0 0;}
#shop-header h1 {margin-bottom: 0; font-size: 1.6rem;}
#shop-header p {margin-top: 4px; opacity: .75;}
#shop-header .leaf {display: inline-block; width: .9em; height: .9em; margin-right: .4em; vertical-align: -0.05em;
                    background: #ea580c; border-radius: 0 70% 0 70%;}
#agent-notice {border-left: 4px solid #d97706; background: #fffbeb; color: #78350f; padding: 10px 14px;
               border-radius: 6px;}
#agent-notice p {margin: 0;}
.example-row button {font-size: .85rem !important;}
@media (max-width: 640px) {#shop-header h1 {font-size: 1.25rem;} #chat {height: 60vh !important;}
                           .example-row {display: grid !important; grid-template-columns: 1fr 1fr; gap: 6px;}}
"""

AGENT_LABEL = "Support agent · 人工客服"
# How often an open chat checks for an agent's replies, in seconds.
POLL_SECONDS = 3.0
AGENT_NOTICE = ("**A support agent is taking over this conversation · 已转接人工客服** — "
                "replies from the agent will appear here · 客服回复会显示在这里")


def as_text(text: str) -> str:
    """What a customer or an agent typed, shown as the characters typed: the chat renders Markdown and HTML,
    so `<img src=x>` would otherwise become an image (Gradio strips scripts, not markup)."""
    return html.escape(text, quote=False)


def _history(messages, history=(), ids=None) -> tuple[list[dict], dict[int, int]]:
    """Chat history and {history index: bot message id}, extended with stored messages."""
    history, ids = list(history), dict(ids or {})
    for message in messages:
        role = "user" if message.role == "customer" else "assistant"
        if message.role == "bot":
            ids[len(history)] = message.id
        text = message.text if message.role in ("bot", "system") else as_text(message.text)
        history.append({"role": role, "content": f"**{AGENT_LABEL}**\n\n{text}" if message.role == "agent" else text})
    return history, ids


def build_chat(assistant: Assistant) -> gr.Blocks:
    """The customer chat screen, driving `assistant`.

    Its events are private (hidden from Gradio's API clients): programs use the REST API. The
    conversation id this browser keeps is a random 128-bit bearer token: whoever holds it can continue
    that conversation, nobody can guess another's. (Gradio encrypts BrowserState with a key it sends to
    the page, so that encryption hides nothing and no server secret is given to it.)
    """

    def restore(conversation_id):
        if not conversation_id:
            return [], {}, gr.update(visible=False), None, 0
        try:
            status, messages = assistant.messages_after(conversation_id, 0)
        except ConversationNotFound:
            return [], {}, gr.update(visible=False), None, 0
        except EXPECTED_ERRORS as exc:
            log.error("could not restore conversation %s: %s", conversation_id, exc)
            gr.Warning("Your earlier messages could not be loaded · 无法加载之前的对话")
            return [], {}, gr.update(visible=False), conversation_id, 0
        history, ids = _history(messages)
        seen = messages[-1].id if messages else 0
        return history, ids, gr.update(visible=status in ("escalated", "agent")), conversation_id, seen

    def poll(history, ids, conversation_id, seen):
        """New messages from elsewhere (an agent's reply, another tab) since the last one shown."""
        if not conversation_id:
            return gr.update(), ids, gr.update(), seen
        try:
            status, messages = assistant.messages_after(conversation_id, seen or 0)
        except EXPECTED_ERRORS:
            return gr.update(), ids, gr.update(), seen  # a passing database hiccup: try again next tick
        # This page adds its own customer and bot messages as they are answered; only agents' are news here.
        news = [m for m in messages if m.role in ("agent", "system")]
        latest = max([seen or 0, *(m.id for m in news)])
        if not news:
            return gr.update(), ids, gr.update(visible=status in ("escalated", "agent")), latest
        history, ids = _history(news, history, ids)
        return history, ids, gr.update(visible=status in ("escalated", "agent")), latest

    def talk_to_person(history, ids, conversation_id):
        if not conversation_id:  # an agent needs something to act on, and empty escalations flood the queue
            gr.Info("Please type your question first; an agent will see it · 请先输入您的问题，客服会看到")
            return gr.update(), ids, gr.update(), conversation_id, gr.update()
        try:
            reply = assistant.request_human(conversation_id)
        except EXPECTED_ERRORS as exc:
            log.error("escalation failed: %s", exc)
            gr.Warning("Sorry, please try again · 请重试")
            return gr.update(), ids, gr.update(), conversation_id, gr.update()
        history = [*history, {"role": "assistant", "content": reply.text}]
        return history, {**ids, len(history) - 1: reply.message_id}, gr.update(visible=True), \
            reply.conversation_id, reply.message_id

    def respond(text, history, ids, conversation_id, seen):
        if not (text or "").strip():
            return gr.update(), history, ids, gr.update(), conversation_id, seen
        try:
            try:
                reply = assistant.reply(conversation_id, text, channel="web")
            except ConversationNotFound:  # the store was reset since this browser's last visit
                reply = assistant.reply(None, text, channel="web")
        except EXPECTED_ERRORS as exc:
            log.error("reply failed: %s", exc)
            gr.Warning("Sorry, your message could not be sent, please try again · 消息发送失败，请重试")
            return gr.update(), history, ids, gr.update(), conversation_id, seen  # the text stays in the box
        history = [*history, {"role": "user", "content": as_text(text.strip())}]
        if reply.message_id:  # an agent owns the conversation: the bot stays silent
            answer = "\n\n".join([reply.text, *(f"_{notice}_" for notice in reply.notices)])
            history.append({"role": "assistant", "content": answer})
            ids = {**ids, len(history) - 1: reply.message_id}
        latest = max(seen or 0, reply.message_id)
        return "", history, ids, gr.update(visible=reply.escalated), reply.conversation_id, latest

    def rate(ids, conversation_id, data: gr.LikeData):
        index = data.index if isinstance(data.index, int) else data.index[0]
        message_id = ids.get(index) or ids.get(str(index))
        if not conversation_id or not message_id or data.liked not in (True, False):
            return
        try:
            assistant.feedback(conversation_id, int(message_id), 1 if data.liked else -1)
        except EXPECTED_ERRORS as exc:
            log.error("feedback not stored: %s", exc)
            gr.Warning("Your rating could not be saved · 评价保存失败")

    def new_conversation():
        return [], {}, gr.update(visible=False), None, "", 0

    with gr.Blocks(title="Maple Market · 枫叶商城") as demo:
        conversation = gr.BrowserState(None, storage_key="shop-assistant-conversation",
                                       secret="shop-assistant-browser-state")  # a fixed label, not a secret
        ids = gr.State({})
        seen = gr.State(0)  # id of the last stored message this page shows
        gr.HTML("<div id='shop-header'><h1><span class='leaf'></span>Maple Market · 枫叶商城</h1>"
                "<p>Customer service · 在线客服</p></div>")
        notice = gr.Markdown(AGENT_NOTICE, elem_id="agent-notice", visible=False)
        chatbot = gr.Chatbot(elem_id="chat", label=I18N("chat"), show_label=False, height=600,
                             placeholder=I18N("empty_chat"),
                             feedback_options=("Like", "Dislike"), buttons=["copy"], layout="bubble",
                             group_consecutive_messages=False)
        with gr.Row(equal_height=True):
            box = gr.Textbox(placeholder=I18N("placeholder"), show_label=False, scale=8, max_lines=6,
                             lines=1, elem_id="chat-input", max_length=4000, autofocus=True, submit_btn=False)
            send = gr.Button(I18N("send"), variant="primary", scale=1, min_width=80)
        with gr.Row(elem_classes="example-row"):
            example_buttons = [gr.Button(text, size="sm", variant="secondary") for text in EXAMPLES]
        with gr.Row():
            human = gr.Button(I18N("human"), size="sm", variant="secondary")
            clear = gr.Button(I18N("new"), size="sm", variant="secondary")
        timer = gr.Timer(POLL_SECONDS)

        outputs = [box, chatbot, ids, notice, conversation, seen]
        private = {"api_visibility": "private"}
        box.submit(respond, [box, chatbot, ids, conversation, seen], outputs, **private)
        send.click(respond, [box, chatbot, ids, conversation, seen], outputs, **private)
        for button, text in zip(example_buttons, EXAMPLES):
            button.click(respond, [gr.State(text), chatbot, ids, conversation, seen], outputs, **private)
        chatbot.like(rate, [ids, conversation], None, **private)
        human.click(talk_to_person, [chatbot, ids, conversation], [chatbot, ids, notice, conversation, seen], **private)
        clear.click(new_conversation, None, [chatbot, ids, notice, conversation, box, seen], **private)
        timer.tick(poll, [chatbot, ids, conversation, seen], [chatbot, ids, notice, seen], show_progress="hidden",
                   concurrency_limit=None, **private)  # a cheap read: every open page's poll may run at once
        demo.load(restore, [conversation], [chatbot, ids, notice, conversation, seen], **private)
    return demo
