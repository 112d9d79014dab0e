"""Registry of super-network families, keyed by name (in the spirit of timm's ``register_model``).

A family registers a factory and, normally, the frozen dataclass of its options: the factory then
receives that dataclass, built by ``tailor.options.options_from_dict`` (an unknown option is a
``ConfigError`` naming it). A factory registered without options receives the keyword arguments
as given. Users register their own families the same way, without editing tailor.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import nn

from tailor.errors import ConfigError, UnknownNameError
from tailor.options import option_names, options_from_dict

Factory = Callable[..., nn.Module]
F = TypeVar("F", bound=Factory)


@dataclass(frozen=True)
class _Family:
    factory: Factory
    options: type | None


_REGISTRY: dict[str, _Family] = {}


def register_supernet(name: str, options: type | None = None) -> Callable[[F], F]:
    """Decorator: register ``factory`` under ``name`` and return it unchanged.

    ``options``: the family's options dataclass; ``create_supernet`` validates keyword arguments
    into it and calls ``factory(options_instance)``. Registering a *different* factory under a
    taken name raises ``ConfigError`` (silently replacing a family would make results depend on
    import order); re-registering the same function (e.g. a module reload) is allowed.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError("supernet.name", "must be a non-empty string")

    def decorator(factory: F) -> F:
        old = _REGISTRY.get(name)
        if old is not None and _identity(old.factory) != _identity(factory):
            raise ConfigError("supernet", f"name {name!r} is already registered")
        _REGISTRY[name] = _Family(factory, options)
        return factory

    return decorator


def _identity(factory: Factory) -> tuple[str, str]:
    return factory.__module__, factory.__qualname__


def _family(name: str) -> _Family:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownNameError("supernet", name, _REGISTRY) from None


def create_supernet(name: str, **kwargs: Any) -> nn.Module:
    """Build the registered family ``name`` with ``kwargs`` (family-specific sizes)."""
    family = _family(name)
    if family.options is None:
        return family.factory(**kwargs)
    return family.factory(options_from_dict(family.options, name, kwargs))


def supernet_option_names(name: str) -> list[str] | None:
    """The options family ``name`` accepts: its dataclass fields, or its factory's named parameters;
    ``None`` when the factory takes arbitrary keyword arguments."""
    family = _family(name)
    if family.options is not None:
        return option_names(family.options)
    params = inspect.signature(family.factory).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params]


def list_supernets() -> list[str]:
    """Registered family names, sorted."""
    return sorted(_REGISTRY)

