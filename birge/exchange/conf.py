"""Settings of the exchange app, with their defaults.

``settings.BIRGE_LINKAGE`` (a dict; every key optional):

* ``link_threshold`` (0.9): match probability from which a pair is linked automatically;
* ``review_threshold`` (0.3): from which it goes to the clerical review queue;
* ``workers`` (1): processes reading the learner register in a linkage run (0: one per core);
* ``inline_rows`` (20 000): a batch up to this many rows is linked while the page waits; a larger
  one is queued for the task worker (``birge worker``), its progress shown on the batch's page.

``settings.BIRGE_IMPORT`` (a dict): ``max_file_mb`` (200, the reader's own ceiling), the largest register
file the page and the API take, refused before it is read (a file is read whole to be checked before
anything is imported; larger files are split, or linked with ``birge link``, which streams them).

``settings.BIRGE_OUTREACH`` (a dict; every key optional): ``preschool_from`` (3) and
``school_until`` (17), the ages (in full years) of the children an out-of-school search looks for.
"""

from __future__ import annotations

from django.conf import settings

LINKAGE_DEFAULTS = {"link_threshold": 0.9, "review_threshold": 0.3, "workers": 1, "inline_rows": 20_000}
OUTREACH_DEFAULTS = {"preschool_from": 3, "school_until": 17}
IMPORT_DEFAULTS = {"max_file_mb": 200}


def linkage(name: str):
    return {**LINKAGE_DEFAULTS, **getattr(settings, "BIRGE_LINKAGE", {})}[name]


def imports(name: str):
    return {**IMPORT_DEFAULTS, **getattr(settings, "BIRGE_IMPORT", {})}[name]


def outreach(name: str):
    return {**OUTREACH_DEFAULTS, **getattr(settings, "BIRGE_OUTREACH", {})}[name]
