"""The one ASGI app: the runtime's REST routes plus the Gradio screens, sharing one Assistant."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import gradio as gr
from fastapi import FastAPI
from fastapi.responses import FileResponse

from assistant.alerts import PeriodicCheck
from assistant.api import build_router, install_cors, install_error_handlers
from assistant.pipeline import Assistant
from assistant.settings import Settings
from ui.chat import CSS, I18N, build_chat
from ui.console import CSS as CONSOLE_CSS
from ui.console import agent_login, build_console
from ui.dashboard import build_dashboard
from ui.dashboard_feedback import alerts_tab, reviews_tab


STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    """FastAPI app with `/api/...`, `/healthz`, `/docs`, the agent console at `/agent`, the dashboard at
    `/dashboard` (both behind the agents' login), the chat at `/`."""
    assistant = assistant or Assistant(settings)

    @asynccontextmanager
    async def lifespan(_app):
        # Spike alerts are checked while the server runs (assistant/alerts.py; 0 seconds turns it off).
        checker = PeriodicCheck(lambda: assistant.engine, settings, settings.alert_check_seconds)
        checker.start()
        try:
            yield
        finally:
            checker.stop()

    app = FastAPI(title="Shop assistant", version="0.1.0", lifespan=lifespan)
    app.state.assistant = assistant
    app.include_router(build_router(assistant))
    install_error_handlers(app, settings.api_max_body_bytes)
    install_cors(app, assistant)

    @app.get("/embed.js", include_in_schema=False)
    def embed_script() -> FileResponse:
        """The chat widget a shop pastes into its pages (README: Embed in your shop)."""
        return FileResponse(STATIC / "embed.js", media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"})

    theme = gr.themes.Soft(primary_hue="orange", secondary_hue="stone")
    # /agent and /dashboard first: the chat's mount at / would otherwise answer for them.
    # One login check for both screens: its failure count (the rate limit) is per name, not per screen.
    login = agent_login(assistant)
    app = gr.mount_gradio_app(app, build_console(assistant), path="/agent", auth=login,
                              auth_message="Agents only: sign in with the account from `assistant agents add`.",
                              theme=theme, css=CONSOLE_CSS, footer_links=[], ssr_mode=False)
    app = gr.mount_gradio_app(app, build_dashboard(assistant, extra_tabs=(reviews_tab, alerts_tab)), path="/dashboard",
                              auth=login,
                              auth_message="Agents only: sign in with the account from `assistant agents add`.",
                              theme=theme, footer_links=[], ssr_mode=False)
    return gr.mount_gradio_app(app, build_chat(assistant), path="/", i18n=I18N, theme=theme, css=CSS,
                               footer_links=[], ssr_mode=False)
