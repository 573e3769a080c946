"""Writing a folder so that readers see the old one or the new one, never half of either."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_folder(target: Path):
    """Yield an empty staging folder beside `target`; on success it replaces `target` in one rename.

    Example:
        >>> with atomic_folder(Path("home/index")) as staging:
        ...     (staging / "meta.json").write_text("{}")
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        yield staging
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
