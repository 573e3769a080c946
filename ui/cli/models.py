"""`assistant models list | promote VERSION | rollback [KIND]`: the model registry's versions."""

from __future__ import annotations

import json

import typer

from ui.cli.common import audited, domain_errors, settings

app = typer.Typer(help="Model versions: which exist, which is active, switch between them.", no_args_is_help=True)


def _summary(info: dict) -> str:
    """A short line of what a version is: its change and headline metrics."""
    parts = []
    if info.get("change"):
        parts.append(str(info["change"]))
    if "count" in info:
        parts.append(f"{info['count']} entries")
    metrics = info.get("metrics") or {}
    for head, values in (metrics.get("dev") or metrics).items():
        if isinstance(values, dict) and isinstance(values.get("accuracy"), (int, float)):
            parts.append(f"{head} acc {values['accuracy']:.3f}")
    return ", ".join(parts)


@app.command("list")
@domain_errors
def list_versions(kind: str = typer.Option("", "--kind", help="Only this kind (router, classifier, index)."),
                  as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Every version of every model kind: created, parent, data hash, metrics, which is active."""
    from assistant.registry import KINDS, Registry

    registry = Registry(settings().models_dir)
    kinds = [kind] if kind else list(KINDS)
    rows = []
    for name in kinds:
        active = registry.active_version(name)
        for version in registry.versions(name):
            try:
                info = registry.info(name, version)
            except (OSError, json.JSONDecodeError):
                info = {"damaged": True}
            rows.append({"kind": name, "version": version, "active": version == active,
                         "created": info.get("created"), "parent": info.get("parent"),
                         "data_hash": (info.get("data_hash") or "")[:12], "summary": _summary(info)})
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        print("no model versions yet: `assistant serve` builds the first ones")
        return
    for row in rows:
        mark = "*" if row["active"] else " "
        print(f"{mark} {row['kind']:<10} {row['version']:<6} {row['created'] or '':<25} parent {row['parent'] or '-':<6} "
              f"{row['summary']}")


@app.command("promote")
@domain_errors
@audited("models promote")
def promote(version: str = typer.Argument(..., help="A version: `index/v0003`, or `v0003` when only one kind has it."),
            as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Make a version the active one of its kind; running servers switch to it without a restart."""
    from assistant.registry import Registry

    registry = Registry(settings().models_dir)
    kind, name = registry.find(version)
    before = registry.active_version(kind)
    registry.activate(kind, name, why="promote")
    print(json.dumps({"kind": kind, "active": name, "was": before}) if as_json else f"{kind} {name} is active (was {before})")


@app.command("rollback")
@domain_errors
@audited("models rollback")
def rollback(kind: str = typer.Argument("classifier", help="router, classifier or index."),
             as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Go back to the version of KIND that was active before the current one."""
    from assistant.registry import STANDS_IN, Registry

    registry = Registry(settings().models_dir)
    before = registry.active_version(kind)
    now = registry.rollback(kind)
    if as_json:
        print(json.dumps({"kind": kind, "active": now, "was": before}))
    elif now is None:
        print(f"no {kind} is active now (was {before}): the {STANDS_IN[kind]} "
              f"{registry.active_version(STANDS_IN[kind])} serves again")
    else:
        print(f"{kind} {now} is active (was {before})")
