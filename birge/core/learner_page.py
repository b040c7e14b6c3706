"""The learner's page gathers the whole path: later apps contribute sections through ``register``.

``learners`` cannot import the apps after it (referrals, plans, screening …), yet the page of a
child must show their referrals, screenings and plans. Each of those apps registers a section in
its ``AppConfig.ready()``; the learner page renders whatever the user may see.
"""

from __future__ import annotations

from collections.abc import Callable

_SECTIONS: list[tuple[int, Callable]] = []


def register(order: int, section: Callable) -> None:
    """section(request, learner) -> {"template": ..., **context} or None when it shows nothing.

    A section reads its records through the access policy (``visible_to``) itself.
    """
    _SECTIONS.append((order, section))
    _SECTIONS.sort(key=lambda s: s[0])


def sections_for(request, learner) -> list[dict]:
    return [result for _order, section in _SECTIONS if (result := section(request, learner))]
