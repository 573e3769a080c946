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
