"""The drafter: the reply text for an answer.

`TemplateDrafter` fills the best FAQ answer's placeholders with the shop's facts and the values the
customer gave. `ModelDrafter` asks a seq2seq model (in process, or a drafter service on a GPU host)
to write the reply from the customer's message, its intent and sentiment and the filled answers of the
top hits, and sends it only when the faithfulness guard passes it; otherwise, or when the model fails
or is too slow, the filled template goes out. `drafter_input` is the one input format, shared by
training (finetune/seq2seq.py) and serving.
"""

from __future__ import annotations

import logging

from assistant import guard
from assistant.errors import AssistantError
from assistant.phrases import ENTITY_FALLBACK, ENTITY_FILL
from assistant.types import Draft, Hit, Route
from retrieval.knowledge import Shop

logger = logging.getLogger(__name__)
SOURCES = 3  # retrieved answers the model reads


def drafter_input(message: str, intent: str | None, sentiment: str | None, answers: list[str]) -> str:
    """The model's input: the customer's message, what the router read, and the candidate answers.

    Example:
        >>> drafter_input("refund?", "refund_status", "negative", ["Refunds take 3-5 days."])
        'question: refund? | intent: refund_status | sentiment: negative | answer 1: Refunds take 3-5 days.'
    """
    parts = [f"question: {message}", f"intent: {intent or 'unknown'}", f"sentiment: {sentiment or 'neutral'}"]
    parts += [f"answer {i}: {' '.join(a.split())}" for i, a in enumerate(answers[:SOURCES], 1)]
    return " | ".join(parts)


class TemplateDrafter:
    """Fills the best hit's answer template.

    Example:
        >>> TemplateDrafter(shop).draft("where is MM20261104", route, hits).text
        'I've checked order MM20261104: it left our warehouse yesterday.'
    """

    def __init__(self, shop: Shop):
        self.shop = shop

    def warm_up(self) -> None:
        """Nothing to load: the templates come with the knowledge."""

    def draft(self, text: str, route: Route, hits: list[Hit]) -> Draft:
        """The reply for `text` from `hits[0]`, in the entry's language."""
        if not hits:
            raise ValueError("the template drafter needs at least one hit; the policy clarifies without one")
        return Draft(self.fill(hits[0], route), "template", hits[0].id)

    def fill(self, hit: Hit, route: Route) -> str:
        """One hit's answer with the shop's facts and the customer's values in its placeholders."""
        entry = hit.entry
        values = self.shop.fact_values(entry.lang)
        for kind in ENTITY_FALLBACK:
            given = next((e.value for e in route.entities if e.kind == kind), None)
            values[kind] = (ENTITY_FILL[kind][entry.lang].format(value=given) if given
                            else ENTITY_FALLBACK[kind][entry.lang])
        return entry.answer.format_map(values)


class ModelDrafter:
    """A seq2seq model's reply, guarded; the filled template whenever the model cannot be trusted.

    Example:
        >>> drafter = ModelDrafter(TemplateDrafter(shop), Seq2SeqGenerator(folder))
        >>> drafter.draft("how long is delivery?", route, hits).source   # "model", or "template"
    """

    def __init__(self, template: TemplateDrafter, generator, *, order_id_pattern: str | None = None):
        self.template, self.generator = template, generator
        self.order_id_pattern = order_id_pattern or template.shop.order_id_pattern

    def warm_up(self) -> None:
        self.generator.warm_up()

    def draft(self, text: str, route: Route, hits: list[Hit]) -> Draft:
        fallback = self.template.draft(text, route, hits)
        answers = [self.template.fill(hit, route) for hit in hits[:SOURCES]]
        try:
            written = self.generator.generate([drafter_input(text, route.intent, route.sentiment, answers)])[0]
        except AssistantError as exc:  # a dead, slow or busy drafter: the template, at once
            logger.warning("drafter unavailable, template sent: %s", exc)
            return Draft(fallback.text, "template", fallback.template_id, fallback=str(exc))
        except Exception as exc:  # noqa: BLE001 (a broken model must never cost a customer their reply)
            logger.exception("drafter failed, template sent")
            return Draft(fallback.text, "template", fallback.template_id, fallback=f"{exc.__class__.__name__}: {exc}")
        if written is None:
            return Draft(fallback.text, "template", fallback.template_id,
                         fallback="the draft was cut off by the time or length limit")
        verdict = guard.check(written, answers, text, lang=hits[0].entry.lang, order_id_pattern=self.order_id_pattern)
        if not verdict.ok:
            return Draft(fallback.text, "template", fallback.template_id, fallback=verdict.reason)
        return Draft(written, "model", fallback.template_id)
