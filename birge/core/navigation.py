"""The main navigation, by role. Apps add their entries through ``register``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class NavEntry:
    order: int
    label: object  # lazy translation
    url_name: str
    allowed: Callable  # allowed(user) -> bool


_ENTRIES: list[NavEntry] = []


def register(order: int, label, url_name: str, allowed: Callable) -> None:
    _ENTRIES.append(NavEntry(order, label, url_name, allowed))
    _ENTRIES.sort(key=lambda e: e.order)


def navigation_for(request) -> list[dict]:
    user = request.user
    items = []
    for entry in _ENTRIES:
        if not entry.allowed(user):
            continue
        url = reverse(entry.url_name)
        current = request.path == url or (url != "/" and request.path.startswith(url))
        items.append({"label": entry.label, "url": url, "current": current})
    return items
