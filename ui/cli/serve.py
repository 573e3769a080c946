"""`assistant serve`: bootstrap what is missing, then serve the chat, the API and /docs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import typer

from ui.cli.common import domain_errors, log, settings


@domain_errors
def serve(host: str = typer.Option(None, help="Interface to listen on [default: ASSISTANT_HOST or 127.0.0.1]."),
          port: int = typer.Option(None, help="Port [default: ASSISTANT_PORT or 7860]."),
          workers: int = typer.Option(1, min=1, max=64, help="API worker processes on PORT. Above 1, the screens "
                                                              "(chat, console, dashboard) get one process of their "
                                                              "own on --screens-port; use PostgreSQL."),
          screens_port: int = typer.Option(None, help="With --workers > 1 or --ray: the screens' port [default: "
                                                       "PORT + 1]."),
          ray: bool = typer.Option(False, "--ray", help="Serve the API as a Ray Serve application (needs the `ray` "
                                                        "extra): encoder and drafter deployments with replicas."),
          ray_address: str = typer.Option("", help="With --ray: the cluster to join (`auto`, or ray://host:10001); "
                                                   "empty starts one on this machine."),
          replicas: int = typer.Option(1, min=1, max=256, help="With --ray: encoder replicas."),
          replica_cpus: float = typer.Option(1.0, min=0.1, max=64, help="With --ray: CPUs Ray reserves per encoder "
                                                                          "(and CPU drafter) replica; replicas that "
                                                                          "do not fit wait for a node."),
          drafter_replicas: int = typer.Option(1, min=1, max=64, help="With --ray and ASSISTANT_DRAFTER=model: "
                                                                      "drafter replicas (one GPU each when the "
                                                                      "cluster has GPUs).")) -> None:
    """Start the assistant: customer chat at /, API, /healthz, /readyz and /metrics, OpenAPI at /docs."""
    import uvicorn

    from ui.bootstrap import ensure_ready

    from assistant.logs import configure

    if ray and workers > 1:
        raise typer.BadParameter("--workers and --ray exclude each other: Ray's replicas are its workers (--replicas)")
    config = settings()
    configure(json_lines=config.log_json)
    log(f"Assistant home: {config.home}")
    done = ensure_ready(config, log=log)
    log("Models: " + ", ".join(f"{part} {state}" for part, state in done.items()))
    host, port = host or config.host, port or config.port
    if ray:
        _serve_ray(config, host, port, screens_port or port + 1, ray_address, replicas, drafter_replicas, replica_cpus)
        return
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
    elif (connections := (workers + 1) * (config.db_pool_size + config.db_max_overflow)) > 100:
        log(f"warning: {workers} workers and the screens may open up to {connections} database connections, more "
            "than PostgreSQL's default max_connections (100): lower ASSISTANT_DB_POOL_SIZE/_MAX_OVERFLOW or raise it")
    metrics_dir = config.home / "run" / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)  # counts of an earlier run's processes are not this run's
    metrics_dir.mkdir(parents=True)
    # The workers uvicorn spawns read both: their metrics' directory, and where they redirect the screens.
    os.environ.update(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), ASSISTANT_SCREENS_PORT=str(screens_port))
    with _screens(host, screens_port):
        log(f"Ready: API on http://{host}:{port} ({workers} workers); chat, console and dashboard on "
            f"http://{host}:{screens_port} (Ctrl+C stops).")
        uvicorn.run("ui.app:worker_app", factory=True, host=host, port=port, workers=workers, log_level="warning",
                    log_config=None)


def _serve_ray(config, host: str, port: int, screens_port: int, address: str, replicas: int,
               drafter_replicas: int, replica_cpus: float) -> None:
    """The API as a Ray Serve application (ui/ray_app.py) on `port`, the screens in one process on `screens_port`.
    Every process of the cluster gets this one's ASSISTANT_* settings."""
    try:
        import ray
        from ray import serve as ray_serve
    except ImportError as exc:
        raise typer.BadParameter("--ray needs Ray Serve: pip install -e '.[ray]'") from exc
    from ui.ray_app import APP_NAME, application

    def interrupted(_signum, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the shutdown short
        raise KeyboardInterrupt  # a SIGTERM (systemd, docker stop) shuts the cluster's processes down too

    config = config.model_copy(update={"screens_port": screens_port})  # the Api replicas redirect there
    env = {k: v for k, v in os.environ.items() if k.startswith(("ASSISTANT_", "HF_", "TRANSFORMERS_"))}
    env["ASSISTANT_HOME"] = str(config.home)
    ray.init(address=address or None, runtime_env={"env_vars": env}, include_dashboard=False,
             logging_level="WARNING", log_to_driver=True)
    signal.signal(signal.SIGTERM, interrupted)  # after ray.init, which installs a handler of its own
    try:
        ray_serve.start(http_options={"host": host, "port": port})
        log(f"Starting the deployments ({replicas} encoder replicas) on a cluster of {ray.cluster_resources()} ...")
        ray_serve.run(application(config, replicas=replicas, drafter_replicas=drafter_replicas,
                                  cpus_per_replica=replica_cpus), name=APP_NAME, route_prefix="/")
        with _screens(host, screens_port):
            log(f"Ready: API on http://{host}:{port} (Ray Serve); chat, console and dashboard on "
                f"http://{host}:{screens_port} (Ctrl+C stops).")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        if address:  # a shared cluster: remove this application only, never the other ones
            ray_serve.delete(APP_NAME)
        else:
            ray_serve.shutdown()
        ray.shutdown()


@contextmanager
def _screens(host: str, port: int):
    """`assistant serve` for the screens alone (Gradio keeps its sessions in one process), stopped afterwards."""
    screens = subprocess.Popen([sys.executable, "-c", "from ui.cli import main; main()", "serve", "--host", host,
                                "--port", str(port)])
    try:
        _wait_for_screens(screens, host, port)
        yield screens
    finally:
        screens.terminate()
        try:
            screens.wait(timeout=15)
        except subprocess.TimeoutExpired:
            screens.kill()


def _wait_for_screens(screens: subprocess.Popen, host: str, port: int, timeout: float = 600.0) -> None:
    """Until the screens' process answers on `port`; its early exit (a taken port, a bootstrap error) stops
    `serve` with its status instead of redirecting customers to nothing."""
    import httpx

    deadline = time.monotonic() + timeout
    address = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    while time.monotonic() < deadline:
        if screens.poll() is not None:
            _screens_failed(port, screens.returncode)
        try:
            if httpx.get(f"http://{address}:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    _screens_failed(port, None)


def _screens_failed(port: int, status: int | None) -> None:
    log(f"error: the screens' process on port {port} " + (f"stopped (exit status {status}); see its messages above"
                                                           if status is not None else "did not start in time"))
    raise typer.Exit(1)
