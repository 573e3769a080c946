"""Exclusive locks on files under ASSISTANT_HOME: one first start, one index change, one fine-tuning turn."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(path: Path, *, when_busy: Callable[[], None]) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created with its folder). When another process holds it,
    `when_busy` is called first (to say so, or to give up by raising), then the lock is waited for.

    Example:
        >>> with exclusive(home / ".bootstrap.lock", when_busy=lambda: log("waiting ...")):
        ...     ...
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            when_busy()
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
