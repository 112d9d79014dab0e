import pytest
from torch import nn

from tailor.errors import ConfigError, UnknownNameError
from tailor.supernets import create_supernet, list_supernets, register_supernet, registry


def test_builtin_families_are_registered():
    names = list_supernets()
    assert {"mobilenetv3", "resnet"} <= set(names)
    assert names == sorted(names)


def test_unknown_name_lists_registered():
    with pytest.raises(UnknownNameError) as e:
        create_supernet("no_such_net")
    assert "supernet" in str(e.value) and "mobilenetv3" in str(e.value)


def test_user_family_plugs_in_and_duplicates_are_refused(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @register_supernet("my_net")
    def my_net(width: int = 2) -> nn.Module:
        return nn.Linear(width, width)

    assert "my_net" in list_supernets()
    assert create_supernet("my_net", width=3).in_features == 3
    with pytest.raises(ConfigError):
        register_supernet("my_net")(lambda: nn.Identity())


@pytest.mark.parametrize("name", ["mobilenetv3", "resnet"])
def test_unknown_kwarg_is_config_error(name):
    with pytest.raises(ConfigError, match=f"{name}.bogus"):
        create_supernet(name, bogus=1)
