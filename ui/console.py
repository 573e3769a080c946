"""The agent console (Gradio), mounted at `/agent` behind a login: the queue of escalated
conversations, a transcript with what the router and retriever saw, and the agent's actions."""

from __future__ import annotations

import html
import logging
import time

import anyio

import gradio as gr

from assistant import desk, store
from assistant.errors import EXPECTED_ERRORS
from assistant.pipeline import Assistant
from retrieval.knowledge import SENTIMENTS, load_knowledge

log = logging.getLogger(__name__)
REFRESH_SECONDS = 5.0
CSS = """
.msg {border-radius: 8px; padding: 8px 12px; margin: 6px 0; max-width: 80%;}
.msg.customer {background: #fff7ed; border: 1px solid #fed7aa;}
.msg.bot {background: #f5f5f4; border: 1px solid #e7e5e4; margin-left: auto;}
.msg.agent {background: #ecfdf5; border: 1px solid #a7f3d0; margin-left: auto;}
.msg .meta {font-size: .78rem; opacity: .75; margin-top: 4px;}
.msg .text {white-space: pre-wrap;}
"""
QUEUE_COLUMNS = ["conversation", "status", "severity", "waiting since (UTC)", "reason", "last customer message"]


def render_transcript(messages) -> str:
    """HTML of a transcript; every stored text is escaped, so a customer's <script> stays text."""
    parts = []
    for m in messages:
        meta = [f"#{m.id}", m.role, m.created_at.strftime("%H:%M:%S")]
        if m.role == "customer":
            intent = m.corrected_intent or m.intent
            mood = m.corrected_sentiment or m.sentiment
            meta.append(f"intent {intent} ({(m.intent_confidence or 0):.2f})" + (" ✔ corrected" if m.corrected_intent else ""))
            meta.append(f"sentiment {mood} ({(m.sentiment_score or 0):.2f})" + (" ✔ corrected" if m.corrected_sentiment else ""))
            if m.retrieved:
                meta.append("retrieved " + ", ".join(f"{r['id']} {r['score']:.2f}" for r in m.retrieved[:3]))
        elif m.action:
            meta.append(f"{m.action}: {m.reason}")
        parts.append(f"<div class='msg {html.escape(m.role)}'><div class='text'>{html.escape(m.text)}</div>"
                     f"<div class='meta'>{html.escape(' · '.join(str(x) for x in meta))}</div></div>")
    return "".join(parts) or "<p>Select a conversation in the queue.</p>"


def approve_for_knowledge(assistant: Assistant, *, agent_name: str, message_id: int, answer: str):
    """Approve `answer` to the customer message `message_id` for the knowledge base (desk.approve_answer)."""
    with store.transaction(assistant.engine) as session:
        return desk.approve_answer(session, agent_name=agent_name, message_id=int(message_id), answer=answer or "",
                                   order_id_pattern=assistant.knowledge.shop.order_id_pattern)


def approve_from_screen(assistant: Assistant, *, agent_name: str, message_id, text: str) -> str:
    """The console's and the dashboard's approve button: what the answer box shows next (empty once approved;
    the text again, with a warning saying why, when refused)."""
    try:
        approve_for_knowledge(assistant, agent_name=agent_name, message_id=message_id, answer=text)
    except (EXPECTED_ERRORS + (TypeError, ValueError)) as exc:
        gr.Warning(f"Not approved: {exc}")
        return text
    gr.Info("Approved: the next learning-loop run adds it to the knowledge base")
    return ""


def build_console(assistant: Assistant) -> gr.Blocks:
    """The console; every handler reads the logged-in agent from the request."""
    try:
        base_intents = load_knowledge(assistant.settings.knowledge_dir).intent_names
    except EXPECTED_ERRORS:  # the chat and /healthz report a broken knowledge folder; the console still opens
        base_intents = []

    def intents() -> list[str]:
        """The shop's intents and those agents introduced since (the learning loop adds them to the labels)."""
        try:
            with store.transaction(assistant.engine) as session:
                return desk.known_intents(session, base_intents)
        except EXPECTED_ERRORS as exc:
            log.error("intents not loaded: %s", exc)
            return base_intents

    def load_queue():
        try:
            with store.transaction(assistant.engine) as session:
                items = desk.queue(session)
        except EXPECTED_ERRORS as exc:
            log.error("queue not loaded: %s", exc)
            return gr.update()
        return [[i.conversation_id, i.status, i.severity, i.waiting_since.strftime("%Y-%m-%d %H:%M"), i.reason,
                 i.last_message] for i in items]

    def show(conversation_id):
        if not conversation_id:
            return render_transcript([]), gr.update(choices=[]), gr.update(choices=[""] + intents())
        status, messages = assistant.messages_after(conversation_id, 0, staff=True)
        customer = [(f"#{m.id}: {m.text[:50]}", m.id) for m in messages if m.role == "customer"]
        return (f"<p><b>Status:</b> {html.escape(status)}</p>" + render_transcript(messages),
                gr.update(choices=customer, value=customer[-1][1] if customer else None),
                gr.update(choices=[""] + intents()))

    def pick(rows, event: gr.SelectData):
        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        values = rows.values.tolist() if hasattr(rows, "values") else rows
        return values[row][0] if 0 <= row < len(values) else None

    def act(action, conversation_id, text, request: gr.Request):
        if not conversation_id:
            gr.Warning("Select a conversation first")
            return gr.update(), gr.update(), text
        try:
            with store.transaction(assistant.engine) as session:
                if action == "take_over":
                    desk.take_over(session, agent_name=request.username, conversation_id=conversation_id)
                elif action == "reply":
                    desk.reply(session, agent_name=request.username, conversation_id=conversation_id, text=text or "",
                               max_chars=assistant.settings.max_message_chars)
                    text = ""
                else:
                    desk.set_status(session, agent_name=request.username, conversation_id=conversation_id,
                                    status="bot" if action == "hand_back" else "resolved")
        except EXPECTED_ERRORS as exc:
            gr.Warning(str(exc))
        return show(conversation_id)[0], load_queue(), text

    def suggest(conversation_id):
        if not conversation_id:
            return ""
        try:
            return assistant.suggest(conversation_id)
        except EXPECTED_ERRORS as exc:
            gr.Warning(str(exc))
            return ""

    def correct(conversation_id, message_id, intent, added_intent, sentiment, request: gr.Request):
        added_intent = (added_intent or "").strip()
        try:
            with store.transaction(assistant.engine) as session:
                desk.correct(session, agent_name=request.username, message_id=int(message_id),
                             intent=added_intent or intent or None, sentiment=sentiment or None,
                             intents=intents(), new_intent=bool(added_intent))
        except (EXPECTED_ERRORS + (TypeError, ValueError)) as exc:
            gr.Warning(f"Not saved: {exc}")
        else:
            added_intent = ""
        shown, _, intent_choices = show(conversation_id)
        return shown, intent_choices, added_intent

    def last_agent_reply(conversation_id, message_id):
        """The agent's reply after the chosen customer message: the answer an agent would approve."""
        if not conversation_id or not message_id:
            return ""
        _, messages = assistant.messages_after(conversation_id, int(message_id), staff=True)
        for later in messages:
            if later.role == "customer":  # the customer wrote again: later replies answer that
                return ""
            if later.role == "agent":
                return later.text
        return ""

    def approve(conversation_id, message_id, text, request: gr.Request):
        return approve_from_screen(assistant, agent_name=request.username, message_id=message_id, text=text)

    with gr.Blocks(title="Agent console · 客服工作台") as console:
        gr.Markdown("## Agent console · 客服工作台")
        selected = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                queue_table = gr.Dataframe(headers=QUEUE_COLUMNS, interactive=False, wrap=True, elem_id="queue",
                                           column_widths=["24%", "11%", "9%", "16%", "18%", "22%"],
                                           label="Queue: most severe first, then longest waiting · 待处理")
                refresh = gr.Button("Refresh", size="sm")
            with gr.Column(scale=3):
                transcript = gr.HTML(render_transcript([]), elem_id="transcript")
                answer = gr.Textbox(label="Reply to the customer · 回复", lines=3, elem_id="agent-reply")
                with gr.Row():
                    send = gr.Button("Send reply", variant="primary")
                    draft = gr.Button("Suggest a reply")
                with gr.Row():
                    take = gr.Button("Take over")
                    back = gr.Button("Hand back to the bot")
                    done = gr.Button("Resolve", variant="stop")
                message = gr.Dropdown(label="Customer message · 客户消息", choices=[])
                with gr.Accordion("Correct the router's labels · 修正标签", open=False):
                    with gr.Row():
                        new_intent = gr.Dropdown(label="Intent · 意图", choices=[""] + base_intents, value="")
                        added_intent = gr.Textbox(label="…or a new intent · 新意图", placeholder="gift_cards",
                                                  max_lines=1)
                    new_sentiment = gr.Dropdown(label="Sentiment · 情绪", choices=["", *SENTIMENTS], value="")
                    save = gr.Button("Save correction")
                with gr.Accordion("Add the answer to the knowledge base · 加入知识库", open=False):
                    approved_text = gr.Textbox(label="Answer to this customer message (edit before approving) · 答案",
                                               lines=3)
                    approve_button = gr.Button("Approve for the knowledge base")
        timer = gr.Timer(REFRESH_SECONDS)

        private = {"api_visibility": "private"}
        queue_table.select(pick, [queue_table], [selected], **private).then(
            show, [selected], [transcript, message, new_intent], **private)
        refresh.click(load_queue, None, [queue_table], **private)
        timer.tick(load_queue, None, [queue_table], show_progress="hidden", concurrency_limit=None, **private)
        for button, action in ((take, "take_over"), (send, "reply"), (back, "hand_back"), (done, "resolve")):
            event = button.click(act, [gr.State(action), selected, answer], [transcript, queue_table, answer], **private)
            if button is send:  # the reply just sent is the answer an agent may approve
                event.then(last_agent_reply, [selected, message], [approved_text], **private)
        draft.click(suggest, [selected], [answer], **private)
        console.load(load_queue, None, [queue_table], **private)
        save.click(correct, [selected, message, new_intent, added_intent, new_sentiment],
                   [transcript, new_intent, added_intent], **private)
        message.change(last_agent_reply, [selected, message], [approved_text], **private)
        approve_button.click(approve, [selected, message, approved_text], [approved_text], **private)
    return console


# After this many failed logins for one name within FAILURE_WINDOW seconds, that name waits it out.
MAX_FAILURES = 5
FAILURE_WINDOW = 300.0


def agent_login(assistant: Assistant):
    """The console's login check: an agent account created with `assistant agents add`.

    Async, with the database and scrypt in a worker thread, so a login never stalls the server; a
    name with MAX_FAILURES failures in FAILURE_WINDOW seconds is refused until the window passes.
    """
    failures: dict[str, list[float]] = {}

    def check(username: str, password: str) -> bool:
        now = time.monotonic()
        recent = [t for t in failures.get(username, []) if now - t < FAILURE_WINDOW]
        if len(recent) >= MAX_FAILURES:
            failures[username] = recent
            log.warning("login for %r refused: %d failures in %.0f s", username, len(recent), FAILURE_WINDOW)
            return False
        try:
            with store.transaction(assistant.engine) as session:
                ok = desk.authenticate(session, name=username, password=password) is not None
        except EXPECTED_ERRORS as exc:
            log.error("login check failed: %s", exc)
            return False
        failures[username] = [] if ok else [*recent, now]
        return ok

    async def login(username: str, password: str) -> bool:
        return await anyio.to_thread.run_sync(check, username, password)

    return login
