"""The exceptions tailor raises on purpose; the CLI turns them into one line and exit code 2."""

from __future__ import annotations

from collections.abc import Iterable


class TailorError(Exception):
    """Base class: a problem the user can fix, reported without a traceback."""


class ConfigError(TailorError):
    """A named field holds a value that is not allowed."""

    def __init__(self, field: str, why: str, allowed: Iterable[object] | str | None = None):
        self.field = field
        self.why = why
        if allowed is None:
            self.allowed = None
        elif isinstance(allowed, str):
            self.allowed = allowed
        else:
            self.allowed = ", ".join(str(a) for a in allowed)
        text = f"{field}: {why}"
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        super().__init__(text)


class UnknownNameError(ConfigError):
    """A registry lookup failed; the message lists what is registered."""

    def __init__(self, field: str, name: str, known: Iterable[str]):
        super().__init__(field, f"unknown name {name!r}", sorted(known))
