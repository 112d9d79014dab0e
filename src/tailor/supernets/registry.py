"""Registry of super-network families, keyed by name (in the spirit of timm's ``register_model``).

A family registers a factory ``(**kwargs) -> nn.Module`` whose result implements the
``SuperNet`` protocol. Users register their own families the same way, without editing tailor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from torch import nn

from tailor.errors import ConfigError, UnknownNameError

Factory = Callable[..., nn.Module]
F = TypeVar("F", bound=Factory)

_REGISTRY: dict[str, Factory] = {}


def register_supernet(name: str) -> Callable[[F], F]:
    """Decorator: register ``factory`` under ``name`` and return it unchanged.

    Registering a *different* factory under a taken name raises ``ConfigError`` (silently
    replacing a family would make results depend on import order); re-registering the same
    function (e.g. a module reload) is allowed.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError("supernet.name", "must be a non-empty string")

    def decorator(factory: F) -> F:
        old = _REGISTRY.get(name)
        if old is not None and _identity(old) != _identity(factory):
            raise ConfigError("supernet", f"name {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return decorator


def _identity(factory: Factory) -> tuple[str, str]:
    return getattr(factory, "__module__", ""), getattr(factory, "__qualname__", repr(factory))


def create_supernet(name: str, **kwargs: object) -> nn.Module:
    """Build the registered family ``name`` with ``kwargs`` (family-specific sizes)."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise UnknownNameError("supernet", name, _REGISTRY) from None
    return factory(**kwargs)


def list_supernets() -> list[str]:
    """Registered family names, sorted."""
    return sorted(_REGISTRY)


def is_registered(name: str) -> bool:
    return name in _REGISTRY


T = TypeVar("T")


def args_from_kwargs(cls: type[T], family: str, kwargs: dict[str, object]) -> T:
    """Build a family's argument dataclass; an unknown keyword is a ``ConfigError``.

    Lists (as read from YAML/JSON) become tuples so the dataclass stays hashable.
    """
    import dataclasses

    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    for key in kwargs:
        if key not in names:
            raise ConfigError(f"{family}.{key}", "unknown argument", names)
    fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    return cls(**fixed)
