"""Options dataclasses: the one way components take their settings from keyword or JSON data.

Super-network families, problems and tactics each declare a frozen dataclass of options; this
module turns a mapping (CLI flags, a stored spec, JSON) into it, naming an unknown or malformed
option in a ``ConfigError`` instead of a ``TypeError`` deep inside a constructor.
"""

from __future__ import annotations

import dataclasses
import hashlib
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from tailor.errors import ConfigError

T = TypeVar("T")


def option_names(cls: type) -> list[str]:
    """The field names of an options dataclass, in declaration order."""
    return [f.name for f in dataclasses.fields(cls)]


def options_from_dict(cls: type[T], owner: str, data: Mapping[str, Any]) -> T:
    """Build ``cls`` from ``data``; an unknown key or a value of the wrong kind is a ``ConfigError``
    whose field is ``owner.key``. Lists (as read from JSON) become tuples so the result stays hashable."""
    if not isinstance(data, Mapping):
        raise ConfigError(owner, f"options must be a mapping, got {type(data).__name__}")
    names = option_names(cls)
    for key in data:
        if key not in names:
            raise ConfigError(f"{owner}.{key}", "unknown option", names)
    hints = typing.get_type_hints(cls)
    fixed = {}
    for key, value in data.items():
        value = tuple(value) if isinstance(value, list) else value
        _check_kind(f"{owner}.{key}", value, hints.get(key))
        fixed[key] = value
    return cls(**fixed)


OMIT_DEFAULT = {"omit_default": True}  # field metadata: leave the option out of the dict while at its default


def options_to_dict(options: Any) -> dict[str, Any]:
    """JSON-able dict of an options dataclass (tuples become lists).

    A field declared with ``metadata=OMIT_DEFAULT`` is left out while it holds its default, so an
    option added later does not change the stored spec of studies that never set it (they still
    resume)."""
    out = {}
    for f in dataclasses.fields(options):
        v = getattr(options, f.name)
        if f.metadata.get("omit_default") and v == f.default:
            continue
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


_KINDS: dict[type, tuple[type, ...]] = {int: (int,), float: (int, float), str: (str,), bool: (bool,)}
_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _check_kind(field: str, value: Any, hint: Any) -> None:
    """Reject a value whose kind plainly differs from a simple annotation (int, float, str, bool,
    their ``| None`` forms). Other annotations are left to the dataclass's own validation."""
    if hint is None:
        return
    args = typing.get_args(hint)
    optional = type(None) in args
    base = [a for a in args if a is not type(None)] if args else [hint]
    if len(base) != 1 or base[0] not in _KINDS:
        return
    if value is None:
        if not optional:
            raise ConfigError(field, "must not be empty")
        return
    kind = base[0]
    ok = isinstance(value, _KINDS[kind]) and not (kind is not bool and isinstance(value, bool))
    if not ok:
        raise ConfigError(field, f"must be {_WORDS[kind]}, got {value!r}")


def callable_id(fn: Callable[..., Any] | type | None) -> str | None:
    """A stable name for a function or class that changes when its code does (module, qualified
    name and a hash of the bytecode), so a study can notice a changed constraint or feature map."""
    if fn is None:
        return None
    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"
    code = getattr(fn, "__code__", None)
    if code is None:
        return name
    digest = hashlib.sha1(code.co_code + repr(code.co_consts).encode()).hexdigest()[:8]
    return f"{name}@{digest}"
