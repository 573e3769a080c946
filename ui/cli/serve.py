"""`assistant serve`: bootstrap what is missing, then serve the chat, the API and /docs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import typer

from ui.cli.common import domain_errors, log, settings


@domain_errors
def serve(host: str = typer.Option(None, help="Interface to listen on [default: ASSISTANT_HOST or 127.0.0.1]."),
          port: int = typer.Option(None, help="Port [default: ASSISTANT_PORT or 7860]."),
          workers: int = typer.Option(1, min=1, max=64, help="API worker processes on PORT. Above 1, the screens "
                                                              "(chat, console, dashboard) get one process of their "
                                                              "own on --screens-port; use PostgreSQL."),
          screens_port: int = typer.Option(None, help="With --workers > 1: the screens' port [default: PORT + 1].")) -> None:
    """Start the assistant: customer chat at /, API, /healthz, /readyz and /metrics, OpenAPI at /docs."""
    import uvicorn

    from ui.bootstrap import ensure_ready

    from assistant.logs import configure

    config = settings()
    configure(json_lines=config.log_json)
    log(f"Assistant home: {config.home}")
    done = ensure_ready(config, log=log)
    log("Models: " + ", ".join(f"{part} {state}" for part, state in done.items()))
    host, port = host or config.host, port or config.port
    if workers > 1:
        _serve_workers(config, host, port, workers, screens_port or port + 1)
        return
    from ui.app import create_app

    app = create_app(config)
    app.state.assistant.warm_up()
    log(f"Ready: open http://{host}:{port} in your browser (Ctrl+C stops).")
    uvicorn.run(app, host=host, port=port, log_level="warning", log_config=None)  # our handlers, JSON when set


def _serve_workers(config, host: str, port: int, workers: int, screens_port: int) -> None:
    """N uvicorn worker processes for the API on `port`, and one `assistant serve` for the screens (Gradio keeps
    its sessions in one process) on `screens_port`. Every process loads the models itself and watches the
    registry, so a promoted version reaches each within ASSISTANT_RELOAD_SECONDS; their metrics are summed
    through prometheus-client's multiprocess directory."""
    import uvicorn

    if config.db_url.startswith("sqlite"):
        log("warning: several workers share one SQLite file: writes queue behind each other; "
            "set ASSISTANT_DATABASE_URL to a PostgreSQL database to scale out")
    metrics_dir = config.home / "run" / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)  # counts of an earlier run's processes are not this run's
    metrics_dir.mkdir(parents=True)
    os.environ.update(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), ASSISTANT_SCREENS_PORT=str(screens_port))
    screens = subprocess.Popen([sys.executable, "-c", "from ui.cli import main; main()", "serve", "--host", host,
                                "--port", str(screens_port)])
    log(f"Ready: API on http://{host}:{port} ({workers} workers); chat, console and dashboard on "
        f"http://{host}:{screens_port} (Ctrl+C stops).")
    try:
        uvicorn.run("ui.app:worker_app", factory=True, host=host, port=port, workers=workers, log_level="warning",
                    log_config=None)
    finally:
        screens.terminate()
        try:
            screens.wait(timeout=15)
        except subprocess.TimeoutExpired:
            screens.kill()
