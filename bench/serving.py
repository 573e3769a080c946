"""Starting a server for a benchmark and waiting until it answers (shared by the benchmarks)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx


def start(args: list[str], env: dict[str, str], *, stderr=subprocess.DEVNULL) -> subprocess.Popen:
    """`assistant ARGS...` of this environment as a child process."""
    return subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "assistant"), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=stderr)


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


def serve_with_key(home, port: int, **env_extra: str):
    """`assistant serve` on `home` with unlimited API rates, and a fresh shop key: (server, base URL, key, engine).

    The caller waits with `wait_ready(base, server)` and stops the server.
    """
    from assistant import store
    from assistant.settings import Settings

    engine = store.make_engine(Settings(home=home).db_url)
    store.migrate(engine)
    with store.transaction(engine) as session:
        _, key = store.create_api_key(session, name=f"bench-{time.time_ns()}")
    env = {**os.environ, "ASSISTANT_HOME": str(home), "ASSISTANT_PORT": str(port),
           "ASSISTANT_API_RATE_PER_IP": "1000000", "ASSISTANT_API_RATE_PER_KEY": "1000000", **env_extra}
    return start(["serve"], env), f"http://127.0.0.1:{port}", key, engine
