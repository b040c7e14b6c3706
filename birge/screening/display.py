"""What the pages show of a screening: questions with their visibility, results in words, answers.

Texts of questions, answers and domains come from the questionnaire file in the active language
(``engine.Text``); the words for a result (yes / no / indeterminate) are the project's messages.
A result is never told by colour alone: every flag has a word and a sign.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from . import engine
from .models import Screening, Status

FLAG_WORDS = {True: _("Yes"), False: _("No"), None: _("Indeterminate")}
FLAG_SIGNS = {True: "⚠", False: "✓", None: "?"}
DOMAIN_WORDS = {True: _("Difficulty"), False: _("No difficulty"), None: _("Indeterminate")}
WG_LABELS = {
    "disability_1": _("At least one domain with some difficulty or more (disability_1)"),
    "disability_2": _("At least two domains with some difficulty, or one with a lot of difficulty or more (disability_2)"),
    "disability_3": _("At least one domain with a lot of difficulty or unable to do it at all (disability_3, the "
                      "recommended identifier)"),
    "disability_4": _("At least one domain the person cannot do at all (disability_4)"),
}


@dataclass
class Flag:
    value: bool | None

    @property
    def word(self):
        return FLAG_WORDS[self.value]

    @property
    def domain_word(self):
        return DOMAIN_WORDS[self.value]

    @property
    def sign(self):
        return FLAG_SIGNS[self.value]


@dataclass
class Question:
    item: engine.Item
    field: object  # the BoundField
    shown: bool
    condition: str  # the item's skip condition as JSON, for the optional live script ("" when always shown)

    @property
    def anchor(self) -> str:
        return f"q-{self.item.code}"

    @property
    def first_input_id(self) -> str:
        return f"{self.field.auto_id}_0"


def questions(form, instrument: engine.Instrument, answers: dict) -> list[Question]:
    """Every question, each marked shown or not for the current answers (a hidden one appears after
    "Continue", or live with the optional script)."""
    shown = {i.code for i in engine.visible_items(instrument, answers)}
    return [Question(item, form[item.code], item.code in shown or bool(form[item.code].errors),
                     json.dumps(item.shown_if) if item.shown_if else "")
            for item in instrument.items]


def _label(instrument: engine.Instrument | None, code: str, kind: str) -> str:
    if instrument is None:
        return code
    try:
        return str(instrument.domain(code).label if kind == "domain" else instrument.item(code).text)
    except KeyError:
        return code


def result(screening: Screening) -> dict | None:
    """The results in words: overall flag, per domain, WG-SS identifiers, questions without a usable answer."""
    if screening.status != Status.COMPLETE:
        return None
    instrument = screening.definition
    domains = [{"code": code, "label": _label(instrument, code, "domain"), "flag": Flag(value)}
               for code, value in (screening.domains or {}).items()]
    identifiers = [{"code": name, "label": WG_LABELS[name], "flag": Flag(getattr(screening, name))}
                   for name in WG_LABELS if instrument is not None and name in instrument.result_names]
    missing = [{"code": code, "text": _label(instrument, code, "item")} for code in screening.missing or []]
    return {"overall": Flag(screening.functional_difficulty), "domain_count": screening.domain_count, "domains": domains,
            "identifiers": identifiers, "missing": missing}


def answer_rows(screening: Screening) -> list[dict]:
    """(question, answer) in questionnaire order, labels in the active language."""
    instrument = screening.definition
    stored = screening.answers or {}
    if instrument is None:
        return [{"code": k, "question": k, "answer": v} for k, v in stored.items()]
    rows = []
    for item in instrument.items:
        if item.code in stored:
            option = item.option(stored[item.code])
            rows.append({"code": item.code, "question": str(item.text),
                         "answer": str(option.label) if option else stored[item.code]})
    return rows


def summary(screening: Screening) -> dict:
    """One row of a list: the screening, its questionnaire's title and its overall result."""
    instrument = screening.definition
    return {"screening": screening, "title": str(instrument.title) if instrument else screening.instrument,
            "overall": Flag(screening.functional_difficulty) if screening.status == Status.COMPLETE else None}
