import pytest

from assistant.errors import ModelMissing
from assistant.registry import Registry


def test_register_activate_and_roll_forward(tmp_path):
    registry = Registry(tmp_path)
    with pytest.raises(ModelMissing, match="assistant train router"):
        registry.active_folder("router")
    first = registry.staging("router")
    (first / "weights").write_text("1")
    v1 = registry.register("router", first, {"metrics": {"acc": 0.8}}, activate=True)
    second = registry.staging("router")
    v2 = registry.register("router", second, {"metrics": {"acc": 0.9}})
    assert (v1, v2) == ("v0001", "v0002")
    assert registry.active_version("router") == "v0001"  # registering does not activate
    registry.activate("router", v2)
    assert registry.active_folder("router").name == "v0002"
    assert registry.info("router", v2)["parent"] == "v0001"
    assert registry.versions("router") == ["v0001", "v0002"]
    with pytest.raises(ModelMissing):
        registry.activate("router", "v0009")
    with pytest.raises(ModelMissing, match="unknown model kind"):
        registry.staging("nonsense")


def test_rollback_follows_the_activation_history_and_find_names_versions(tmp_path):
    registry = Registry(tmp_path)
    for kind in ("router", "index"):
        for _ in range(3):
            registry.register(kind, registry.staging(kind), {}, activate=True)
    registry.activate("router", "v0001", why="promote")       # v3 -> v1
    assert registry.rollback("router") == "v0003"              # back to what was active before
    assert registry.rollback("router") == "v0001"
    assert [r["why"] for r in registry.history("router")][-3:] == ["promote", "rollback from v0001", "rollback from v0003"]
    assert registry.rollback("index") == "v0002" and registry.active_version("index") == "v0002"
    with open(tmp_path / "index" / "history.jsonl", "a") as out:
        out.write('{"version": "v00')                           # a line cut by a crash is skipped
    assert registry.history("index")[-1]["version"] == "v0002"
    assert registry.find("index/v0003") == ("index", "v0003")
    with pytest.raises(ModelMissing, match="exists for router, index: say which"):
        registry.find("v0002")
    with pytest.raises(ModelMissing, match="no model version is called 'v0009'"):
        registry.find("v0009")
    with pytest.raises(ModelMissing, match="no active classifier"):
        registry.rollback("classifier")
    only = Registry(tmp_path / "other")
    only.register("router", only.staging("router"), {}, activate=True)
    with pytest.raises(ModelMissing, match="first version"):
        only.rollback("router")


def test_staging_left_by_a_killed_process_is_cleaned_and_a_live_one_kept(tmp_path):
    registry = Registry(tmp_path)
    live = registry.staging("classifier")                  # this process: alive
    dead = registry.staging("classifier")
    (dead / ".owner").write_text(str(2**22 + 12345))        # above Linux's pid_max default: never alive
    assert registry.clean_stale("classifier") == 1
    assert live.is_dir() and not dead.exists()
    version = registry.register("classifier", live, {})
    assert not (registry.root / "classifier" / version / ".owner").exists()


def test_rollback_without_history_follows_parents_past_rejected_candidates(tmp_path):
    registry = Registry(tmp_path)
    v1 = registry.register("classifier", registry.staging("classifier"), {"gate": {"promoted": True}}, activate=True)
    registry.register("classifier", registry.staging("classifier"), {"gate": {"promoted": False}})
    v3 = registry.register("classifier", registry.staging("classifier"), {"gate": {"promoted": True}}, activate=True)
    (tmp_path / "classifier" / "history.jsonl").unlink()     # an install whose history starts later
    assert registry.info("classifier", v3)["parent"] == v1
    assert registry.rollback("classifier") == v1
    with pytest.raises(ModelMissing, match="unknown model kind 'classifer'"):
        registry.versions("classifer")


def test_rolling_back_the_first_classifier_lets_the_router_serve_again(tmp_path):
    registry = Registry(tmp_path)
    with pytest.raises(ModelMissing, match="first version"):  # nothing would stand in: refused
        lone = registry.register("classifier", registry.staging("classifier"), {}, activate=True)
        registry.rollback("classifier")
    registry.register("router", registry.staging("router"), {}, activate=True)
    assert registry.rollback("classifier") is None
    assert registry.active_version("classifier") is None and registry.active_version("router") == "v0001"
    assert registry.history("classifier")[-1]["version"] is None
    registry.activate("classifier", lone, why="promote")       # promoted again, rolled back again: same
    assert registry.rollback("classifier") is None


def test_a_classifier_rolled_back_once_does_not_come_back_on_the_next_rollback(tmp_path):
    registry = Registry(tmp_path)
    registry.register("router", registry.staging("router"), {}, activate=True)
    registry.register("classifier", registry.staging("classifier"), {"gate": {"promoted": True}}, activate=True)
    assert registry.rollback("classifier") is None                     # v1 out, the router serves
    v2 = registry.register("classifier", registry.staging("classifier"), {"gate": {"promoted": True}}, activate=True)
    assert registry.info("classifier", v2)["parent"] is None
    assert registry.rollback("classifier") is None                     # back to the router, not to v1
    assert registry.active_version("classifier") is None
