"""One message in, one reply out: the path every screen, the API and the CLI share."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from assistant import logs, metrics, store
from assistant.drafter import ModelDrafter, TemplateDrafter
from assistant.errors import ConversationNotFound
from assistant.models import embedder_from_settings, index_params
from assistant.phrases import phrase
from assistant.access import matches
from assistant.pii import Masked, mask_and_cut
from assistant.policy import PolicyConfig, Turn, decide
from assistant.registry import Registry
from assistant.router import Router
from assistant.settings import Settings
from assistant.tables import Message
from assistant.types import Decision, Draft, Reply, Route
from retrieval.embedder import Embedder
from retrieval.knowledge import Knowledge, load_knowledge
from retrieval.retriever import Retriever

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """What one process loads once and every request shares."""

    knowledge: Knowledge
    router: Router
    retriever: Retriever
    drafter: TemplateDrafter | ModelDrafter
    engine: Engine
    policy: PolicyConfig
    versions: dict[str, str | None]


class Assistant:
    """The shop assistant of one process: models loaded once, shared by every caller.

    Args:
        settings: where the knowledge, the registry and the database are.
        embedder: the sentence embedder to use instead of the one the settings name (tests pass a fake; Ray
            Serve passes one that calls its encoder deployment).
        generator: with ASSISTANT_DRAFTER=model, what writes the drafts instead of the settings' service or
            folder (Ray Serve passes its drafter deployment); anything with `warm_up()` and `generate(inputs)`.

    Example:
        >>> bot = Assistant(Settings())
        >>> reply = bot.reply(None, "where is my order MM20261104?")
        >>> reply.intent, reply.text
    """

    def __init__(self, settings: Settings, embedder: Embedder | None = None, generator=None):
        self.settings = settings
        self.embedder = embedder
        self.generator = generator
        self._runtime: Runtime | None = None
        self._lock = threading.Lock()
        self._checked = 0.0
        self._reloading = False
        self._failed_versions: dict[str, str] | None = None

    def warm_up(self) -> None:
        """Load the knowledge, open the database and load the active models (first use does it otherwise)."""
        with self._lock:
            if self._runtime is not None:
                return
            if self.settings.torch_threads:
                import torch

                torch.set_num_threads(self.settings.torch_threads)
            self._runtime = self._load()
            self._checked = time.monotonic()

    def _active_versions(self) -> dict[str, str]:
        registry = Registry(self.settings.models_dir)
        return {kind: version for kind in ("router", "classifier", "index", "drafter")
                if (version := registry.active_version(kind))}

    def _load(self, engine: Engine | None = None) -> Runtime:
        """A runtime of the registry's active versions (with the given database engine, or a new one)."""
        settings = self.settings
        knowledge = load_knowledge(settings.knowledge_dir)
        registry = Registry(settings.models_dir)
        versions = self._active_versions()
        embedder = self.embedder or embedder_from_settings(settings)
        # A fine-tuned classifier, once one is trained, reads messages instead of the bootstrap router.
        kind = "classifier" if versions.get("classifier") else "router"
        # Folders from the pointers read once, so the versions stamped on replies are the ones loaded.
        router = Router(registry.folder(kind, versions.get(kind)), embedder,
                        order_id_pattern=knowledge.shop.order_id_pattern, products=knowledge.shop.products,
                        min_confidence=settings.min_intent_confidence, int8=settings.classifier_int8)
        retriever = Retriever(registry.folder("index", versions.get("index")), embedder,
                              lexical_weight=settings.lexical_weight,
                              params=index_params(settings))
        drafter = self._drafter(knowledge, registry, versions)
        router.warm_up()
        retriever.warm_up()
        drafter.warm_up()
        if engine is None:
            engine = store.engine_for(settings)
            store.migrate(engine)
        policy = PolicyConfig(
            min_answer_score=settings.answer_threshold,
            escalate_negative_score=settings.escalate_negative_score,
            min_agree_confidence=settings.min_agree_confidence,
            escalating_intents=frozenset(i.name for i in knowledge.intents if i.escalate))
        return Runtime(knowledge, router, retriever, drafter, engine, policy, versions)

    def _drafter(self, knowledge: Knowledge, registry: Registry, versions: dict[str, str]):
        """The template drafter, or (ASSISTANT_DRAFTER=model) a guarded model: a service or a local folder."""
        template = TemplateDrafter(knowledge.shop)
        settings = self.settings
        if settings.drafter == "template":
            return template
        if self.generator is not None:
            return ModelDrafter(template, self.generator)
        if settings.drafter_url:
            from assistant.drafter_service import CircuitBreaker, RemoteGenerator

            generator = RemoteGenerator(settings.drafter_url, timeout=settings.drafter_timeout,
                                        breaker=CircuitBreaker(settings.drafter_breaker_failures,
                                                               settings.drafter_breaker_seconds))
        else:
            from assistant.seq2seq import Seq2SeqGenerator

            folder = Path(settings.drafter_model) if settings.drafter_model else registry.folder(
                "drafter", versions.get("drafter"))
            generator = Seq2SeqGenerator(folder, self.decoding, device=settings.device)
        return ModelDrafter(template, generator)

    @property
    def decoding(self):
        from assistant.seq2seq import Decoding

        s = self.settings
        return Decoding(num_beams=s.drafter_beams, max_new_tokens=s.drafter_max_new_tokens, time_limit=s.drafter_time_limit)

    def _maybe_reload(self) -> None:
        """Every `reload_seconds`, look for a promoted version; load it beside the serving one, then swap.

        Requests keep the runtime they started with, so none is dropped or fails during the swap; a
        version that cannot be loaded is logged and the old one keeps answering.
        """
        every = self.settings.reload_seconds
        now = time.monotonic()
        if not every or now - self._checked < every or self._reloading:
            return
        self._checked = now
        try:
            versions = self._active_versions()
        except OSError:
            return
        if versions == self._runtime.versions:
            self._failed_versions = None  # a set that failed before is tried again when promoted again
            return
        if versions == self._failed_versions:
            return
        with self._lock:
            if self._reloading:
                return
            self._reloading = True
        threading.Thread(target=self._reload, args=(versions,), name="model-reload", daemon=True).start()

    def _reload(self, versions: dict[str, str]) -> None:
        try:
            before = self._runtime.versions
            runtime = self._load(engine=self._runtime.engine)
            self._runtime = runtime  # one reference assignment: atomic for the requests that follow
            self._failed_versions = None
            logger.info("now answering with %s (was %s)", runtime.versions, before)
        except Exception:  # noqa: BLE001 (a broken promotion must not take the serving models down)
            self._failed_versions = versions
            logger.exception("could not load the promoted model versions %s; still answering with %s",
                             versions, self._runtime.versions)
        finally:
            self._reloading = False

    @property
    def runtime(self) -> Runtime:
        """The loaded models, knowledge and database engine (loading them on first use; a promoted
        model version replaces them within `reload_seconds`)."""
        self.warm_up()
        self._maybe_reload()
        return self._runtime

    @property
    def knowledge(self) -> Knowledge:
        return self.runtime.knowledge

    @property
    def model_versions(self) -> dict[str, str | None]:
        """The active version of each model kind this process answers with."""
        return dict(self.runtime.versions)

    @property
    def engine(self) -> Engine:
        return self.runtime.engine

    def start_conversation(self, channel: str = "web") -> str:
        """A new conversation's id."""
        with store.transaction(self.engine) as session:
            return store.create_conversation(session, channel=channel).id

    def reply(self, conversation_id: str | None, text: str | None, channel: str = "web",
              token: str | None = None) -> Reply:
        """Answer one customer message and store it with its reply in one transaction.

        A `conversation_id` of None starts a new conversation. Raises ConversationNotFound for an
        unknown id and StoreError when the database cannot take the turn (then nothing was saved).
        No transaction is held while the models run: the conversation is read, the reply computed,
        then the turn written.
        """
        with logs.conversation(conversation_id):
            return self._reply(conversation_id, text, channel, token)

    def _reply(self, conversation_id: str | None, text: str | None, channel: str, token: str | None) -> Reply:
        rt = self.runtime
        started = time.perf_counter()
        with metrics.timed("mask"):
            masked, truncated = self._mask_and_cut(text)
        status, history, lang = "bot", [], None
        with store.transaction(rt.engine) as session:
            waiting = store.count_waiting(session)  # for the wait an escalation would announce
            if conversation_id is not None:
                conversation = self._conversation(session, conversation_id, token)
                status, lang = conversation.status, conversation.lang
                history = [Turn(a, oos) for a, oos in store.recent_turns(session, conversation_id=conversation_id)]
        if not masked.text:
            # Nothing to read: prompt politely (in the conversation's language) and store nothing.
            return self._prompt(conversation_id, status, lang or "en", started)

        with metrics.timed("route"):
            route = rt.router.route(masked.text)
        with metrics.timed("retrieve"):
            hits = rt.retriever.search(masked.text, k=self.settings.top_k, lang=route.lang,
                                       intent_prior=dict(route.intent_ranking),
                                       prior_weight=self.settings.intent_prior_weight)
        sources = [{"id": h.id, "score": round(h.score, 4)} for h in hits]
        notices = (phrase("truncated", route.lang, limit=str(self.settings.max_message_chars)),) if truncated else ()
        customer = Message(
            role="customer", text=masked.text, lang=route.lang, intent=route.intent,
            intent_confidence=route.intent_confidence, out_of_scope=route.out_of_scope, sentiment=route.sentiment,
            sentiment_score=route.sentiment_score, retrieved=sources, truncated=truncated,
            entities=[{"kind": e.kind, "value": e.value} for e in route.entities], pii_found=list(masked.found))

        def plan(current: str) -> tuple[Decision, Draft, str]:
            decision = decide(route, hits, history, current, masked.text, rt.policy)
            draft = self._draft(masked.text, decision, route, hits, rt.drafter, rt.knowledge, waiting)
            return decision, draft, {"escalate": "escalated", "hold": current}.get(decision.action, "bot")

        with metrics.timed("draft"):
            decision, draft, new_status = plan(status)
        stored = time.perf_counter()
        with store.transaction(rt.engine) as session:
            if conversation_id is None:
                conversation = store.create_conversation(session, channel=channel, lang=route.lang)
                logs.set_conversation(conversation.id)
            else:
                conversation = self._conversation(session, conversation_id, token, lock=True)
                if conversation.status != status:  # an agent took over (or another turn escalated) meanwhile
                    decision, draft, new_status = plan(conversation.status)
            latency = (time.perf_counter() - started) * 1000
            # While an agent owns the conversation (hold) the bot stays silent: nothing of its is stored or shown.
            bot = None if decision.action == "hold" else Message(
                role="bot", text=draft.text, lang=route.lang, action=decision.action,
                # Stored with the reply: why a model's draft was replaced by the template, when it was.
                reason=(decision.reason + (f"; model draft not sent: {draft.fallback}" if draft.fallback else ""))[:200],
                source=draft.source, template_id=draft.template_id, model_versions=rt.versions, latency_ms=latency,
                retrieved=sources[:1] if draft.template_id else [])
            store.save_turn(session, conversation=conversation, customer=customer, reply=bot, status=new_status,
                            escalation_reason=decision.reason if decision.action == "escalate" else None)
        metrics.STAGE_SECONDS.labels("store").observe(time.perf_counter() - stored)
        metrics.STAGE_SECONDS.labels("total").observe(time.perf_counter() - started)
        if bot is not None:
            metrics.REPLIES.labels(draft.source, decision.action).inc()
        if decision.action == "escalate":
            metrics.ESCALATIONS.labels("policy").inc()
        if draft.fallback:
            metrics.DRAFTER_FALLBACKS.labels(metrics.fallback_reason(draft.fallback)).inc()
        return Reply(
            conversation_id=conversation.id, customer_message_id=customer.id, message_id=bot.id if bot else 0,
            text=draft.text if bot else "",
            action=decision.action, reason=decision.reason, source=draft.source, template_id=draft.template_id,
            intent=route.intent, intent_confidence=route.intent_confidence, sentiment=route.sentiment,
            sentiment_score=route.sentiment_score, status=new_status,
            lang=route.lang, sources=tuple((h.id, h.score) for h in hits), entities=route.entities, notices=notices,
            latency_ms=latency)

    def request_human(self, conversation_id: str | None, lang: str = "en", channel: str = "web",
                      token: str | None = None) -> Reply:
        """The customer's own "talk to a person" button: escalate now and tell them what happens next."""
        rt = self.runtime
        started = time.perf_counter()
        with store.transaction(rt.engine) as session:
            if conversation_id is None:
                conversation = store.create_conversation(session, channel=channel, lang=lang)
            else:
                conversation = self._conversation(session, conversation_id, token, lock=True)
            lang = conversation.lang or lang
            if conversation.status in ("escalated", "agent"):
                decision, status = Decision("hold", "already with an agent"), conversation.status
                draft = Draft(phrase("hold", lang), "policy")
            else:
                decision = Decision("escalate", "the customer pressed 'talk to a person'")
                draft = self._escalation_notice(lang, rt.knowledge, store.count_waiting(session))
                status = "escalated"
            message = store.add_message(
                session, conversation=conversation, status=status,
                escalation_reason=decision.reason if decision.action == "escalate" else None,
                message=Message(role="bot", text=draft.text, lang=lang, action=decision.action, reason=decision.reason,
                                source=draft.source, model_versions=rt.versions))
        if decision.action == "escalate":
            metrics.ESCALATIONS.labels("customer").inc()
        return Reply(
            conversation_id=conversation.id, message_id=message.id, text=draft.text, action=decision.action,
            reason=decision.reason, source=draft.source, status=status, lang=lang,
            latency_ms=(time.perf_counter() - started) * 1000)

    def suggest(self, conversation_id: str) -> str:
        """A draft answer to the conversation's latest customer message, for an agent to edit."""
        rt = self.runtime
        with store.transaction(rt.engine) as session:
            self._conversation(session, conversation_id, None, staff=True)
            customer = [m for m in store.list_messages(session, conversation_id=conversation_id) if m.role == "customer"]
        if not customer:
            return ""
        text = customer[-1].text
        route = rt.router.route(text)
        hits = rt.retriever.search(text, k=self.settings.top_k, lang=route.lang,
                                   intent_prior=dict(route.intent_ranking), prior_weight=self.settings.intent_prior_weight)
        return rt.drafter.draft(text, route, hits).text if hits else phrase("clarify", route.lang)

    def messages_after(self, conversation_id: str, after_id: int, token: str | None = None, *,
                       staff: bool = False) -> tuple[str, list[Message]]:
        """The conversation's status and its messages after `after_id` (what a polling widget shows)."""
        with store.transaction(self.engine) as session:
            conversation = self._conversation(session, conversation_id, token, staff=staff)
            return conversation.status, store.list_messages(session, conversation_id=conversation_id, after_id=after_id)

    def feedback(self, conversation_id: str, message_id: int, rating: int, comment: str | None = None,
                 token: str | None = None) -> int:
        """Store a thumbs up (1) or down (-1) on one of the conversation's bot replies; returns its id."""
        with store.transaction(self.engine) as session:
            self._conversation(session, conversation_id, token)
            text = self._mask_and_cut(comment)[0].text or None if comment else None
            return store.add_feedback(session, conversation_id=conversation_id, message_id=message_id,
                                      rating=rating, comment=text).id

    def conversation_status(self, conversation_id: str, token: str | None = None) -> str:
        """bot | escalated | agent | resolved."""
        with store.transaction(self.engine) as session:
            return self._conversation(session, conversation_id, token).status

    def transcript(self, conversation_id: str, token: str | None = None, *, staff: bool = False) -> list[Message]:
        """The conversation's stored messages, in order."""
        return self.messages_after(conversation_id, 0, token, staff=staff)[1]

    @staticmethod
    def _conversation(session, conversation_id: str, token: str | None, *, staff: bool = False,
                      lock: bool = False):
        """The conversation, if the caller may open it: one started through the API opens only with its
        token (or for staff); the answer for a wrong token is the same as for an unknown id."""
        conversation = store.get_conversation(session, conversation_id=conversation_id, lock=lock)
        if conversation.token_hash and not staff and not matches(token or "", conversation.token_hash):
            raise ConversationNotFound(f"no conversation with id {conversation_id!r}: start a new one")
        return conversation

    def _mask_and_cut(self, raw: str | None) -> tuple[Masked, bool]:
        return mask_and_cut(raw, self.settings.max_message_chars)

    def _draft(self, text: str, decision: Decision, route: Route, hits, drafter: TemplateDrafter,
               knowledge: Knowledge, waiting: int) -> Draft:
        if decision.action == "answer":
            return drafter.draft(text, route, hits)
        if decision.action == "escalate":
            return self._escalation_notice(route.lang, knowledge, waiting)
        return Draft(phrase(decision.action, route.lang), "policy")

    def _escalation_notice(self, lang: str, knowledge: Knowledge, waiting: int) -> Draft:
        """What an escalated customer reads: an agent is coming, and roughly when (from the queue's length)."""
        wait = self.settings.minutes_per_waiting_conversation * (waiting + 1)
        hours = knowledge.shop.fact_values(lang).get("support_hours", "")
        return Draft(phrase("escalate", lang, wait=str(wait), hours=hours), "policy")

    @staticmethod
    def _prompt(conversation_id: str | None, status: str, lang: str, started: float) -> Reply:
        """The reply to an empty message; `conversation_id` stays as it was (None: none was started)."""
        return Reply(
            conversation_id=conversation_id, message_id=0, text=phrase("empty", lang), action="prompt",
            reason="empty message", source="policy", status=status, lang=lang,
            latency_ms=(time.perf_counter() - started) * 1000)


__all__ = ["Assistant", "ConversationNotFound"]
