"""Versioned model folders under ASSISTANT_HOME/models/<kind>/<version>, one active version per kind.

A version folder is complete before it is registered (it is written elsewhere and moved in), and the
active pointer is a small file replaced atomically, so a reader never sees half a model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from assistant.errors import ModelMissing

KINDS = ("router", "classifier", "index", "drafter", "reviews")
# What makes a version of each kind, for the message when none is active.
MAKERS = {"router": "assistant train router", "classifier": "assistant train classifier",
          "index": "assistant index build", "drafter": "assistant train drafter",
          "reviews": "assistant train reviews FILE"}
ACTIVE_FILE = "ACTIVE"
VERSION_FILE = "version.json"
# In a staging folder: the id of the process writing it.
OWNER_FILE = ".owner"
# One line per activation ({"version", "at", "why"}; version null when one was deactivated): what
# `rollback` goes back along.
HISTORY_FILE = "history.jsonl"
# A kind that serves in place of another when none of that one is active: messages are read by the
# fine-tuned classifier once one is active, by the bootstrap router before.
STANDS_IN = {"classifier": "router"}


class Registry:
    """The model versions of one ASSISTANT_HOME.

    Example:
        >>> registry = Registry(settings.models_dir)
        >>> staging = registry.staging("router")       # write the model here, then:
        >>> version = registry.register("router", staging, {"metrics": {...}}, activate=True)
        >>> registry.active_folder("router")
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def staging(self, kind: str) -> Path:
        """A fresh folder, next to the versions, to write a new version into (it names its owner process,
        so a folder left by a killed run can be told from one still being written)."""
        folder = self._kind_dir(kind)
        folder.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
        (staged / OWNER_FILE).write_text(str(os.getpid()), encoding="utf-8")
        return staged

    def clean_stale(self, kind: str) -> int:
        """Remove staging folders whose process is gone (a run killed mid-way); returns how many."""
        removed = 0
        for staged in self._kind_dir(kind).glob(".staging-*"):
            try:
                owner = int((staged / OWNER_FILE).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                owner = None
            if owner is not None and _alive(owner):
                continue
            shutil.rmtree(staged, ignore_errors=True)
            removed += 1
        return removed

    def register(self, kind: str, staged: Path, info: dict, *, activate: bool = False) -> str:
        """Move a complete folder in as the next version of `kind`; optionally make it active."""
        parent = self.active_version(kind)
        version = f"v{self._next_number(kind):04d}"
        record = {"kind": kind, "version": version, "parent": parent,
                  "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), **info}
        (Path(staged) / OWNER_FILE).unlink(missing_ok=True)
        (Path(staged) / VERSION_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(staged, self._kind_dir(kind) / version)
        if activate:
            self.activate(kind, version, why="new version")
        return version

    def activate(self, kind: str, version: str, why: str = "activate") -> None:
        """Make `version` the active one of `kind`, atomically (running servers pick it up)."""
        if not (self._kind_dir(kind) / version / VERSION_FILE).is_file():
            raise ModelMissing(f"{kind} version {version} does not exist under {self._kind_dir(kind)}: "
                               f"`assistant models list` shows the versions")
        fd, tmp = tempfile.mkstemp(prefix=".active-", dir=self._kind_dir(kind))
        with os.fdopen(fd, "w") as out:
            out.write(version + "\n")
        os.replace(tmp, self._kind_dir(kind) / ACTIVE_FILE)
        record = {"version": version, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "why": why}
        with open(self._kind_dir(kind) / HISTORY_FILE, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")

    def deactivate(self, kind: str, why: str) -> None:
        """Leave `kind` without an active version (running servers fall back to what stands in for it)."""
        (self._kind_dir(kind) / ACTIVE_FILE).unlink(missing_ok=True)
        record = {"version": None, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "why": why}
        with open(self._kind_dir(kind) / HISTORY_FILE, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")

    def history(self, kind: str) -> list[dict]:
        """The activations of `kind`, oldest first."""
        path = self._kind_dir(kind) / HISTORY_FILE
        if not path.is_file():
            return []
        rows = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by a crash mid-write: the ACTIVE pointer is what counts
        return rows

    def rollback(self, kind: str) -> str | None:
        """Re-activate the version that was active before the current one; returns it.

        The first classifier has none before it: rolling it back deactivates it, so the router it
        replaced serves again (returns None then).
        """
        current = self.active_version(kind)
        if current is None:
            raise ModelMissing(f"no active {kind} to roll back from")
        # Walk the activations backwards past the current one (and past re-activations of it).
        previous = None
        stand_in = STANDS_IN.get(kind)
        for record in reversed(self.history(kind)):
            version = record.get("version")
            if version == current:
                continue
            if version is None:  # before the current one, none was active: what stands in served
                if stand_in and self.active_version(stand_in):
                    self.deactivate(kind, why=f"rollback from {current}: {stand_in} serves again")
                    return None
                continue
            if (self._kind_dir(kind) / version / VERSION_FILE).is_file():
                previous = version
                break
        if previous is None:
            # No earlier activation recorded: follow the parents, past candidates the gate rejected.
            parent = self.info(kind, current).get("parent")
            while parent and (not (self._kind_dir(kind) / parent / VERSION_FILE).is_file()
                              or self.info(kind, parent).get("gate", {}).get("promoted") is False):
                parent = self.info(kind, parent).get("parent") if (self._kind_dir(kind) / parent / VERSION_FILE).is_file() else None
            if not parent:
                if stand_in and self.active_version(stand_in):
                    self.deactivate(kind, why=f"rollback from {current}: {stand_in} serves again")
                    return None
                raise ModelMissing(f"{kind} {current} is the first version: there is nothing to roll back to")
            previous = parent
        self.activate(kind, previous, why=f"rollback from {current}")
        return previous

    def find(self, version: str) -> tuple[str, str]:
        """(kind, version) for "kind/version" or a version name that only one kind has."""
        if "/" in version:
            kind, _, name = version.partition("/")
            if name not in self.versions(kind):
                raise ModelMissing(f"there is no {kind} version {name}: `assistant models list` shows them")
            return kind, name
        kinds = [kind for kind in KINDS if version in self.versions(kind)]
        if len(kinds) == 1:
            return kinds[0], version
        if not kinds:
            raise ModelMissing(f"no model version is called {version!r}: `assistant models list` shows them")
        raise ModelMissing(f"{version} exists for {', '.join(kinds)}: say which, e.g. {kinds[0]}/{version}")

    def active_version(self, kind: str) -> str | None:
        pointer = self._kind_dir(kind) / ACTIVE_FILE
        return pointer.read_text().strip() or None if pointer.is_file() else None

    def active_folder(self, kind: str) -> Path:
        """The active version's folder; ModelMissing (saying what to run) when there is none."""
        version = self.active_version(kind)
        if version is None or not (self._kind_dir(kind) / version).is_dir():
            also = "" if kind == "classifier" else " (or `assistant serve`, which builds what is missing)"
            raise ModelMissing(f"no active {kind} under {self._kind_dir(kind)}: run `{MAKERS[kind]}`{also}")
        return self._kind_dir(kind) / version

    def folder(self, kind: str, version: str | None) -> Path:
        """The folder of one version (None: the active one); ModelMissing when it is not there."""
        if version is None:
            return self.active_folder(kind)
        folder = self._kind_dir(kind) / version
        if not folder.is_dir():
            raise ModelMissing(f"{kind} version {version} is not under {self._kind_dir(kind)}: "
                               "`assistant models list` shows the versions")
        return folder

    def info(self, kind: str, version: str) -> dict:
        return json.loads((self._kind_dir(kind) / version / VERSION_FILE).read_text(encoding="utf-8"))

    def versions(self, kind: str) -> list[str]:
        folder = self._kind_dir(kind)
        return sorted(p.name for p in folder.glob("v[0-9]*") if p.is_dir()) if folder.is_dir() else []

    def discard(self, staged: Path) -> None:
        shutil.rmtree(staged, ignore_errors=True)

    def _kind_dir(self, kind: str) -> Path:
        if kind not in KINDS:
            raise ModelMissing(f"unknown model kind {kind!r}: expected one of {', '.join(KINDS)}")
        return self.root / kind

    def _next_number(self, kind: str) -> int:
        numbers = [int(m.group(1)) for v in self.versions(kind) if (m := re.fullmatch(r"v(\d+)", v))]
        return max(numbers, default=0) + 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
