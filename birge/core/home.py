"""The home page is each role's work: apps contribute sections through ``register``."""

from __future__ import annotations

from collections.abc import Callable

_SECTIONS: list[tuple[int, Callable]] = []


def register(order: int, section: Callable) -> None:
    """section(request) -> {"template": ..., **context} or None when it does not apply."""
    _SECTIONS.append((order, section))
    _SECTIONS.sort(key=lambda s: s[0])


def sections_for(request) -> list[dict]:
    out = []
    for _order, section in _SECTIONS:
        result = section(request)
        if result:
            out.append(result)
    return out
