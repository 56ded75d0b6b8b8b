import pytest

from mobilekit.core.registry import Registry


def test_duplicates_refused_unless_overridden():
    reg: Registry[int] = Registry("thing")
    reg.register("a", 1)
    with pytest.raises(KeyError, match="already registered"):
        reg.register("a", 2)
    reg.register("a", 3, override=True)
    assert reg.get("a") == 3


def test_lazy_entries_resolve_and_unknown_names_list_accepted():
    reg: Registry[object] = Registry("thing")
    reg.register_lazy("path", "pathlib:Path")
    assert "path" in reg and reg.get("path").__name__ == "Path"
    with pytest.raises(KeyError, match="accepted: path"):
        reg.get("nope")


def test_decorator_form():
    reg: Registry[object] = Registry("fn")

    @reg.register("f")
    def f():
        return 1

    assert reg.get("f") is f
