"""The HTTP routes of the runtime. The shop-facing conversation API arrives with the agents issue;
for now a health check that says whether the models and the database answer."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from assistant.errors import EXPECTED_ERRORS
from assistant.pipeline import Assistant


def build_router(assistant: Assistant) -> APIRouter:
    """Routes bound to one shared Assistant."""
    router = APIRouter()

    @router.get("/healthz")
    def healthz() -> dict:
        """Ready when the models are loaded and the database answers."""
        try:
            assistant.warm_up()
            versions = assistant.model_versions
        except EXPECTED_ERRORS as exc:
            raise HTTPException(status_code=503, detail=str(exc)) from exc
        return {"status": "ok", "models": versions}

    return router
