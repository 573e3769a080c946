"""Time from `assistant serve` to a chat that answers: first start (empty ASSISTANT_HOME: trains the
router, builds the index) and second start (reuses them), side by side in one run.

    python bench/startup.py [--port 7961]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.path.join(os.path.dirname(sys.executable), "assistant")


def time_to_ready(home: str, port: int, timeout: float = 600) -> float:
    env = {**os.environ, "ASSISTANT_HOME": home, "ASSISTANT_PORT": str(port)}
    started = time.perf_counter()
    server = subprocess.Popen([BIN, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < timeout:
            if server.poll() is not None:
                raise RuntimeError(f"assistant serve exited with {server.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                    if response.status == 200:
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
                            page.read()
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.25)
        raise RuntimeError(f"not ready after {timeout} s")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7961)
    opts = parser.parse_args()
    home = tempfile.mkdtemp(prefix="assistant-startup-")
    try:
        first = time_to_ready(home, opts.port)
        second = time_to_ready(home, opts.port)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"first start (empty home, trains router + builds index): {first:.1f} s")
    print(f"second start (reuses them):                             {second:.1f} s")


if __name__ == "__main__":
    main()
