"""`assistant serve`: bootstrap what is missing, then serve the chat, the API and /docs."""

from __future__ import annotations

import typer

from ui.cli.common import domain_errors, log, settings


@domain_errors
def serve(host: str = typer.Option(None, help="Interface to listen on [default: ASSISTANT_HOST or 127.0.0.1]."),
          port: int = typer.Option(None, help="Port [default: ASSISTANT_PORT or 7860].")) -> None:
    """Start the assistant: customer chat at /, API, /healthz, /readyz and /metrics, OpenAPI at /docs."""
    import uvicorn

    from ui.app import create_app
    from ui.bootstrap import ensure_ready

    from assistant.logs import configure

    config = settings()
    configure(json_lines=config.log_json)
    log(f"Assistant home: {config.home}")
    done = ensure_ready(config, log=log)
    log("Models: " + ", ".join(f"{part} {state}" for part, state in done.items()))
    app = create_app(config)
    app.state.assistant.warm_up()
    host, port = host or config.host, port or config.port
    log(f"Ready: open http://{host}:{port} in your browser (Ctrl+C stops).")
    uvicorn.run(app, host=host, port=port, log_level="warning", log_config=None)  # our handlers, JSON when set
