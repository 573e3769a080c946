"""Scale-out side by side: the same load (bench/load.py) against one process, `--workers 2`, and Ray Serve with
1 and 2 encoder replicas, in one run on one machine, so the figures compare.

    python bench/scaling.py [--home DIR] [--database-url postgresql://...] [--conversations 60] [--turns 10]
                            [--think 0.5] [--only single,workers2,ray1,ray2]

Prints one JSON object per setup (bench/load.py's fields plus `setup`), then a summary line with each
setup's throughput as a ratio of the single process's. The load client runs on the same cores as the
server: on a 2-core machine more processes mostly share the same two cores, which is what this measures.
Ray setups need the `ray` extra (pip install -e '.[ray]'); workers want PostgreSQL (--database-url).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/scaling.py` finds bench/

from bench.load import measure  # noqa: E402
from bench.serving import bootstrap  # noqa: E402

SETUPS = {
    "single": (),
    "workers2": ("--workers", "2"),
    # Half a CPU each: Ray reserves CPUs per replica, and two whole ones would leave none for the ingress here.
    "ray1": ("--ray", "--replicas", "1", "--replica-cpus", "0.5"),
    "ray2": ("--ray", "--replicas", "2", "--replica-cpus", "0.5"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="A home with models (default: bootstrapped first).")
    parser.add_argument("--database-url", default="", help="PostgreSQL for every setup (a fresh one is best).")
    parser.add_argument("--conversations", type=int, default=60)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--think", type=float, default=0.5)
    parser.add_argument("--port", type=int, default=7971)
    parser.add_argument("--only", default=",".join(SETUPS), help="Comma-separated setups to run.")
    opts = parser.parse_args()
    home = opts.home or bootstrap(Path(tempfile.mkdtemp(prefix="assistant-scaling-")) / "home")
    env = {"ASSISTANT_DATABASE_URL": opts.database_url} if opts.database_url else {}
    results = {}
    for name in opts.only.split(","):
        # Each setup on its own copy of the home (the same models), so no run sees another's conversations.
        copy = Path(tempfile.mkdtemp(prefix=f"assistant-{name}-")) / "home"
        shutil.copytree(home, copy, ignore=shutil.ignore_patterns("assistant.db*", "run"))
        print(f"{name}: {' '.join(SETUPS[name]) or 'one process'} ...", file=sys.stderr, flush=True)
        result = measure(copy, opts.port, conversations=opts.conversations, turns=opts.turns, think=opts.think,
                         ramp=2 * opts.think, serve_args=SETUPS[name], **env)
        results[name] = result
        print(json.dumps({"setup": name, **result}), flush=True)
        shutil.rmtree(copy.parent, ignore_errors=True)
    base = results.get("single", {}).get("turns_per_second")
    if base:
        print(json.dumps({"throughput_vs_single": {name: round(r["turns_per_second"] / base, 2)
                                                   for name, r in results.items()}}))


if __name__ == "__main__":
    main()
