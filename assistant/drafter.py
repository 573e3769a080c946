"""The drafter: the reply text for an answer. For now it fills the best FAQ answer's placeholders
with the shop's facts and the values the customer gave; a seq2seq model will draft over it later."""

from __future__ import annotations

from assistant.phrases import ENTITY_FALLBACK, ENTITY_FILL
from assistant.types import Draft, Hit, Route
from retrieval.knowledge import Shop


class TemplateDrafter:
    """Fills the best hit's answer template.

    Example:
        >>> TemplateDrafter(shop).draft("where is MM20261104", route, hits).text
        'I've checked order MM20261104: it left our warehouse yesterday.'
    """

    def __init__(self, shop: Shop):
        self.shop = shop

    def draft(self, text: str, route: Route, hits: list[Hit]) -> Draft:
        """The reply for `text` from `hits[0]`, in the entry's language."""
        if not hits:
            raise ValueError("the template drafter needs at least one hit; the policy clarifies without one")
        entry = hits[0].entry
        values = self.shop.fact_values(entry.lang)
        for kind in ENTITY_FALLBACK:
            given = next((e.value for e in route.entities if e.kind == kind), None)
            values[kind] = (ENTITY_FILL[kind][entry.lang].format(value=given) if given
                            else ENTITY_FALLBACK[kind][entry.lang])
        return Draft(entry.answer.format_map(values), "template", entry.id)
