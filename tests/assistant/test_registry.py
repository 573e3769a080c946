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
    with pytest.raises(ValueError):
        registry.staging("nonsense")
