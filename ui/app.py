"""The one ASGI app: the runtime's REST routes plus the Gradio screens, sharing one Assistant."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
from fastapi import FastAPI
from fastapi.responses import FileResponse

from assistant.api import build_router, install_cors, install_error_handlers
from assistant.pipeline import Assistant
from assistant.settings import Settings
from ui.chat import CSS, I18N, build_chat
from ui.console import CSS as CONSOLE_CSS
from ui.console import agent_login, build_console


STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    """FastAPI app with `/api/...`, `/healthz`, `/docs`, the agent console at `/agent`, the chat at `/`."""
    assistant = assistant or Assistant(settings)
    app = FastAPI(title="Shop assistant", version="0.1.0")
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
    # /agent first: the chat's mount at / would otherwise answer for it.
    app = gr.mount_gradio_app(app, build_console(assistant), path="/agent", auth=agent_login(assistant),
                              auth_message="Agents only: sign in with the account from `assistant agents add`.",
                              theme=theme, css=CONSOLE_CSS, footer_links=[], ssr_mode=False)
    return gr.mount_gradio_app(app, build_chat(assistant), path="/", i18n=I18N, theme=theme, css=CSS,
                               footer_links=[], ssr_mode=False)
