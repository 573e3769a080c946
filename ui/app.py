"""The one ASGI app: the runtime's REST routes plus the Gradio screens, sharing one Assistant."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

import gradio as gr
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse

from assistant.alerts import PeriodicCheck
from assistant.api import build_router, install_cors, install_error_handlers
from assistant.pipeline import Assistant
from assistant.settings import Settings
from ui.chat import CSS, I18N, build_chat
from ui.console import CSS as CONSOLE_CSS
from ui.console import agent_login, build_console
from ui.dashboard import build_dashboard
from ui.dashboard_feedback import alerts_tab, reviews_tab
from ui.security import ConsoleGuard


STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings, assistant: Assistant | None = None, *, screens: bool = True) -> FastAPI:
    """FastAPI app with `/api/...`, `/healthz`, `/docs`, the agent console at `/agent`, the dashboard at
    `/dashboard` (both behind the agents' login), the chat at `/`.

    `screens=False` is an API worker of `assistant serve --workers N`: no Gradio screens (their sessions live
    in one process: Gradio cannot be spread over workers) but redirects to the process serving them on
    `settings.screens_port`, and no periodic alert check (that process runs the one check).
    """
    assistant = assistant or Assistant(settings)

    @asynccontextmanager
    async def lifespan(_app):
        # Spike alerts are checked while the server runs (assistant/alerts.py; 0 seconds turns it off).
        checker = PeriodicCheck(lambda: assistant.engine, settings, settings.alert_check_seconds if screens else 0)
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

    if not screens:
        install_screen_redirects(app, settings.screens_port)
        return app
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
    app = gr.mount_gradio_app(app, build_chat(assistant), path="/", i18n=I18N, theme=theme, css=CSS,
                              footer_links=[], ssr_mode=False)
    # Agents' sessions in HttpOnly, SameSite=Strict (and over HTTPS Secure) cookies; no cross-site console actions.
    app.add_middleware(ConsoleGuard, trusted_origins=settings.console_origins)
    return app


def install_screen_redirects(app: FastAPI, port: int) -> None:
    """The chat, console and dashboard addresses of an API worker lead to the screens' process."""

    def to_screens(request: Request) -> RedirectResponse:
        if not port:
            raise HTTPException(404, "this process serves the API only")
        host = (request.url.hostname or "127.0.0.1").strip("[]")
        host = f"[{host}]" if ":" in host else host
        target = request.url.replace(netloc=f"{host}:{port}")
        return RedirectResponse(str(target), status_code=307)

    for path in ("/", "/agent", "/agent/{rest:path}", "/dashboard", "/dashboard/{rest:path}"):
        app.add_api_route(path, to_screens, methods=["GET"], include_in_schema=False)


def worker_app() -> FastAPI:
    """One API worker of `assistant serve --workers N` (uvicorn calls this in each worker process): the
    settings from the environment, the models loaded before the first request."""
    from assistant.logs import configure
    from assistant.settings import get_settings

    settings = get_settings()
    configure(json_lines=settings.log_json)
    app = create_app(settings, screens=False)
    app.state.assistant.warm_up()
    return app
