"""Starting a server for a benchmark and waiting until it answers (shared by the benchmarks)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx


def start(args: list[str], env: dict[str, str], *, stderr=subprocess.DEVNULL) -> subprocess.Popen:
    """`assistant ARGS...` of this environment as a child process, in a process group of its own (`stop` ends
    the workers, screens or Ray processes it starts too)."""
    return subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "assistant"), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)


def stop(process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Ctrl+C for a child of `start`, then whatever of its group is left is killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def bootstrap(home, log=None):
    """A home prepared by a first `assistant serve` (router trained, FAQ index built: a minute or more);
    its stderr goes to `log` when given."""
    port = free_port()
    with open(log or os.devnull, "wb") as sink:
        server = start(["serve"], serve_env(home, port), stderr=sink)
        try:
            wait_ready(f"http://127.0.0.1:{port}", server, timeout=900)
        finally:
            stop(server)
    return home


def wait_ready(base: str, process: subprocess.Popen | None = None, timeout: float = 300.0,
               path: str = "/readyz") -> None:
    """Until GET base + path answers 200 (`/readyz` of `assistant serve`, `/healthz` of the drafter service);
    a child that exits meanwhile ends the wait with its error."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(base + path, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process is not None and process.poll() is not None:
            detail = process.stderr.read().decode()[-2000:] if process.stderr else f"exit status {process.returncode}"
            raise RuntimeError(f"the server for {base} exited: {detail}")
        time.sleep(0.3)
    raise RuntimeError(f"the server at {base} did not become ready in {timeout:.0f} s")


def free_port() -> int:
    """A loopback TCP port nobody listens on now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def new_key(home, database_url: str = ""):
    """A fresh shop key in the database `assistant serve` on `home` uses (`database_url` when the server gets
    ASSISTANT_DATABASE_URL), migrated first: (key, engine)."""
    from assistant import store
    from assistant.settings import Settings

    settings = Settings(home=home, database_url=database_url) if database_url else Settings(home=home)
    engine = store.make_engine(settings.db_url)
    store.migrate(engine)
    with store.transaction(engine) as session:
        _, key = store.create_api_key(session, name=f"bench-{time.time_ns()}")
    return key, engine


def serve_env(home, port: int, **env_extra: str) -> dict[str, str]:
    """The environment of `assistant serve` on `home` and `port` with unlimited API rates."""
    return {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_PORT": str(port),
            "ASSISTANT_API_RATE_PER_IP": "1000000", "ASSISTANT_API_RATE_PER_KEY": "1000000", **env_extra}


def serve_with_key(home, port: int, *, serve_args: tuple[str, ...] = (), **env_extra: str):
    """`assistant serve SERVE_ARGS` on `home` with unlimited API rates, and a fresh shop key: (server, base URL,
    key, engine).

    The caller waits with `wait_ready(base, server)` and stops the server with `stop(server)`.
    """
    key, engine = new_key(home, env_extra.get("ASSISTANT_DATABASE_URL", ""))
    return start(["serve", *serve_args], serve_env(home, port, **env_extra)), f"http://127.0.0.1:{port}", key, engine
