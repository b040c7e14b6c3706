"""The questionnaire engine: functioning questionnaires as data, scored in pure Python.

An *instrument* (the CFM for ages 2-4 and 5-17, the WG-SS for adults, later
the teacher-reported CFM-TV …) is one JSON file in ``instruments/`` named after
its code. The file holds everything about it — texts in ky/ru/en, answer
scales with their numeric import codes per source, items with their skip
conditions, domains with their scoring rules and the overall results — so a
new questionnaire is a new file, not new code. ``docs/screening.md`` describes
the format and the scoring rules; ``../shared/reference/cfm.md`` is the
authority for the CFM and WG-SS.

No Django models here: the screening models, forms, views and the stateless
``/api/v1/screening/score/`` endpoint are built on this module.

Answers are always a ``dict`` mapping item codes (``"CF1"``, ``"seeing"``) to
answer *meanings* (``"yes"``, ``"a_lot_of_difficulty"``, ``"dont_know"``),
never numbers; ``map_import_codes`` turns a source's numbers into meanings.

Public API::

    load_instrument(code) -> Instrument            # cached, validated
    all_instruments() -> list[Instrument]
    instrument_for_age(age, respondent=None) -> Instrument | None
    completed_years(birth_date, on) -> int
    visible_items(instrument, answers) -> list[Item]
    clean_answers(instrument, answers) -> dict
    validate_answers(instrument, answers, age=None, require_complete=False) -> dict[str, str]
    answer_problems(...)  -> dict[str, Problem]    # the same, with stable error codes
    score(instrument, answers) -> ScoreResult      # ScoreResult.as_api() for the API
    map_import_codes(instrument, source, raw) -> dict
    Registry(directory), load_instrument_file(path) # instruments outside the package

Results are three-valued (Kleene logic): ``True`` flagged, ``False`` not
flagged, ``None`` indeterminate because an answer that matters is missing
(unanswered, ``dont_know`` or ``refused``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

__all__ = [
    "INSTRUMENTS_DIR", "LANGUAGES", "RESPONDENTS", "AnswerError", "Domain", "Instrument", "InstrumentError", "Item",
    "Option", "Problem", "Registry", "Scale", "ScoreResult", "Text", "UnknownInstrument", "all_instruments",
    "answer_problems", "clean_answers", "clear_cache", "completed_years", "instrument_for_age", "load_instrument",
    "load_instrument_file", "map_import_codes", "score", "validate_answers", "visible_items",
]

INSTRUMENTS_DIR = Path(__file__).with_name("instruments")
FORMAT = 1
LANGUAGES = ("ky", "ru", "en")
RESPONDENTS = ("parent", "self", "teacher")
RESERVED_RESULTS = ("domains", "domain_count")
OVERALL = "functional_difficulty"

_INSTRUMENT_CODE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_IMPORT_CODE = re.compile(r"^(0|[1-9][0-9]*)$")

Tri = bool | None


# --------------------------------------------------------------------------- errors

class InstrumentError(ValueError):
    """An instrument file that is not valid; the message names the file and the place."""


class UnknownInstrument(LookupError):
    """No instrument with this code."""


_MESSAGES = {
    "not_a_mapping": _("The answers must map question codes to answer codes."),
    "unknown_item": _("This question is not part of the questionnaire."),
    "unknown_value": _("This is not one of the allowed answers to this question."),
    "required": _("Answer this question."),
    "invalid_age": _("Enter the age as a whole number of completed years."),
    "unknown_source": _("Unknown import source."),
    "invalid_code": _("The answer code must be a whole number."),
}


@dataclass(frozen=True)
class Problem:
    """One problem with one field: a stable ``code`` and the user-facing (lazy) ``message``."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def message(self):
        if self.code == "age_out_of_range":
            if self.params.get("max") is None:
                return format_lazy(_("This questionnaire is for ages {min} and over (completed years)."),
                                   min=self.params["min"])
            return format_lazy(_("This questionnaire is for ages {min} to {max} (completed years)."),
                               min=self.params["min"], max=self.params["max"])
        if self.code == "unknown_code":
            return format_lazy(_("Code {code} is not an answer to this question in this source."),
                               code=self.params["code"])
        return _MESSAGES[self.code]


class AnswerError(ValueError):
    """Answers (or import codes) that cannot be used; ``problems`` maps each field to its :class:`Problem`."""

    def __init__(self, problems: Mapping[str, Problem]):
        self.problems = dict(problems)
        super().__init__("invalid answers: " + ", ".join(f"{k}: {p.code}" for k, p in self.problems.items()))

    @property
    def codes(self) -> dict[str, str]:
        return {k: p.code for k, p in self.problems.items()}

    @property
    def messages(self) -> dict[str, Any]:
        """Field → lazy message, ready for ``ValidationError(error.messages)``."""
        return {k: p.message for k, p in self.problems.items()}


# --------------------------------------------------------------------------- the instrument

def _active_language() -> str:
    try:
        from django.utils.translation import get_language

        language = get_language()
    except Exception:  # settings not configured: plain Python use
        language = None
    base = (language or "ky").split("-")[0].lower()
    return base if base in LANGUAGES else "ky"


@dataclass(frozen=True)
class Text:
    """A text in the three languages; ``str()`` gives the active language (Kyrgyz by default)."""

    ky: str
    ru: str
    en: str

    def get(self, language: str | None = None) -> str:
        base = (language or _active_language()).split("-")[0].lower()
        return getattr(self, base) if base in LANGUAGES else self.ky

    def __str__(self) -> str:
        return self.get()

    def as_dict(self) -> dict[str, str]:
        return {lang: getattr(self, lang) for lang in LANGUAGES}


@dataclass(frozen=True)
class Option:
    """One answer: the stored meaning (``code``) and its label."""

    code: str
    label: Text
    missing: bool = False  # a non-response (dont_know, refused): treated as missing when scoring


@dataclass(frozen=True)
class Scale:
    code: str
    options: tuple[Option, ...]
    severe: frozenset[str]
    codes: Mapping[str, Mapping[str, str]]  # source → numeric code (as text) → option code

    def option(self, code: str) -> Option:
        return next(o for o in self.options if o.code == code)


Expr = Callable[["_Env"], Tri]


@dataclass(frozen=True, eq=False)
class Item:
    """One question. ``options`` are the allowed answers, the scale's (possibly narrowed) then non-response."""

    code: str
    position: int
    text: Text
    scale: Scale
    options: tuple[Option, ...]
    domain: str | None
    required: bool
    hint: Text | None
    shown_if: Mapping[str, Any] | None  # the condition as written in the file
    _shown: Expr | None = field(repr=False, default=None)

    @property
    def values(self) -> frozenset[str]:
        return frozenset(o.code for o in self.options)

    @property
    def missing_values(self) -> frozenset[str]:
        return frozenset(o.code for o in self.options if o.missing)

    def choices(self, language: str | None = None) -> list[tuple[str, str]]:
        """``(code, label)`` pairs for a form field, in the file's order."""
        return [(o.code, o.label.get(language)) for o in self.options]

    def option(self, code: str) -> Option | None:
        return next((o for o in self.options if o.code == code), None)


@dataclass(frozen=True, eq=False)
class Domain:
    code: str
    label: Text
    rule: Mapping[str, Any]  # as written in the file
    items: tuple[str, ...]  # items the rule reads
    _rule: Expr = field(repr=False, default=None)


@dataclass(frozen=True, eq=False)
class Instrument:
    code: str
    version: str
    title: Text
    description: Text
    min_age: int
    max_age: int | None
    respondent: str
    age_routing: bool
    import_sources: Mapping[str, str]
    scales: Mapping[str, Scale]
    non_response: tuple[Option, ...]
    non_response_codes: Mapping[str, Mapping[str, str]]
    items: tuple[Item, ...]
    domains: tuple[Domain, ...]
    result_names: tuple[str, ...]
    path: Path | None = field(repr=False, default=None)
    _results: Mapping[str, Expr] = field(repr=False, default=None)
    _source: str = field(repr=False, default="{}")  # the file's content as JSON
    _index: Mapping[str, Item] = field(repr=False, init=False)

    def __post_init__(self):
        object.__setattr__(self, "_index", MappingProxyType({i.code: i for i in self.items}))

    def __str__(self) -> str:
        return str(self.title)

    def item(self, code: str) -> Item:
        return self._index[code]

    def domain(self, code: str) -> Domain:
        for domain in self.domains:
            if domain.code == code:
                return domain
        raise KeyError(code)

    @property
    def item_codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.items)

    @property
    def domain_codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.domains)

    def applies_to_age(self, age: int) -> bool:
        return self.min_age <= age and (self.max_age is None or age <= self.max_age)

    def as_dict(self) -> dict[str, Any]:
        """The file's content (a fresh copy), e.g. for an API that publishes the definition."""
        return json.loads(self._source)


# --------------------------------------------------------------------------- expressions (Kleene logic)

class _Env:
    """What an expression can read: answers (non-response and invalid values read as missing), domains, results."""

    def __init__(self, instrument: Instrument, answers: Mapping[str, Any], domains=None, results=None):
        self.instrument = instrument
        self.answers = answers
        self.domains = domains or {}
        self.results = results
        self._items = instrument._index

    def value(self, code: str) -> str | None:
        value = self.answers.get(code)
        item = self._items[code]
        if not isinstance(value, str) or value not in item.values or value in item.missing_values:
            return None
        return value

    def result(self, name: str) -> Tri:
        return self.results(name)


def _any(values: Iterable[Tri]) -> Tri:
    values = list(values)
    if any(v is True for v in values):
        return True
    return False if all(v is False for v in values) else None


def _all(values: Iterable[Tri]) -> Tri:
    values = list(values)
    if any(v is False for v in values):
        return False
    return True if all(v is True for v in values) else None


class _Compiler:
    """Turns a rule as written in a file into a function of an :class:`_Env`, checking every reference."""

    OPERATORS = ("sev", "eq", "in", "any", "all", "not", "at_least", "if", "domain", "result")

    def __init__(self, where: str, items: Mapping[str, Item], domains: Iterable[str] = (),
                 results: Iterable[str] = ()):
        self.where = where
        self.items = items
        self.domains = set(domains)
        self.results = set(results)
        self.read_items: list[str] = []
        self.read_results: set[str] = set()

    def fail(self, path: str, message: str):
        raise InstrumentError(f"{self.where}{path}: {message}")

    def item(self, code, path) -> Item:
        if not isinstance(code, str) or code not in self.items:
            self.fail(path, f"unknown item {code!r}" + (" (a condition may only read earlier items)"
                                                        if self.where.endswith("shown_if") else ""))
        if code not in self.read_items:
            self.read_items.append(code)
        return self.items[code]

    def value(self, item: Item, value, path):
        if not isinstance(value, str) or value not in item.values:
            self.fail(path, f"{value!r} is not an answer to {item.code} (allowed: {', '.join(sorted(item.values))})")
        if value in item.missing_values:
            self.fail(path, f"{value!r} is a non-response, read as missing; a rule cannot test it")
        return value

    def compile(self, node, path: str = "") -> Expr:
        if not isinstance(node, dict) or not node:
            self.fail(path, f"a rule must be an object with one operator, got {node!r}")
        if "if" in node:
            if set(node) != {"if", "then", "else"}:
                self.fail(path, "'if' needs exactly 'if', 'then' and 'else'")
            cond = self.compile(node["if"], path + ".if")
            then = self.compile(node["then"], path + ".then")
            other = self.compile(node["else"], path + ".else")

            def if_(env):
                c = cond(env)
                return None if c is None else (then(env) if c else other(env))
            return if_
        if len(node) != 1:
            self.fail(path, f"one operator per object, got {sorted(node)}")
        (op, arg), = node.items()
        here = f"{path}.{op}"
        if op == "sev":
            item = self.item(arg, here)
            if not item.scale.severe:
                self.fail(here, f"scale {item.scale.code!r} of {item.code} defines no 'severe' answers")
            severe = item.scale.severe

            def sev(env):
                v = env.value(arg)
                return None if v is None else v in severe
            return sev
        if op in ("eq", "in"):
            if not isinstance(arg, list) or len(arg) != 2:
                self.fail(here, f"expects [item, {'value' if op == 'eq' else '[values]'}]")
            code, wanted = arg
            item = self.item(code, here)
            if op == "eq":
                wanted = [wanted]
            elif not isinstance(wanted, list) or not wanted:
                self.fail(here, "expects a non-empty list of values")
            accepted = frozenset(self.value(item, v, here) for v in wanted)

            def among(env):
                v = env.value(code)
                return None if v is None else v in accepted
            return among
        if op in ("any", "all"):
            if not isinstance(arg, list) or not arg:
                self.fail(here, "expects a non-empty list of rules")
            parts = [self.compile(p, f"{here}[{i}]") for i, p in enumerate(arg)]
            combine = _any if op == "any" else _all
            return lambda env: combine(p(env) for p in parts)
        if op == "not":
            inner = self.compile(arg, here)

            def not_(env):
                v = inner(env)
                return None if v is None else not v
            return not_
        if op == "at_least":
            if (not isinstance(arg, list) or len(arg) != 2 or not isinstance(arg[0], int) or isinstance(arg[0], bool)
                    or arg[0] < 1 or not isinstance(arg[1], list) or not arg[1]):
                self.fail(here, "expects [n >= 1, [rules]]")
            n = arg[0]
            parts = [self.compile(p, f"{here}[{i}]") for i, p in enumerate(arg[1])]

            def at_least(env):
                values = [p(env) for p in parts]
                yes, unknown = values.count(True), sum(v is None for v in values)
                if yes >= n:
                    return True
                return False if yes + unknown < n else None
            return at_least
        if op == "domain":
            if arg not in self.domains:
                self.fail(here, f"unknown domain {arg!r}" if self.domains else "domains can be read only by results")
            return lambda env: env.domains[arg]
        if op == "result":
            if arg not in self.results:
                self.fail(here, f"unknown result {arg!r}" if self.results else "results can be read only by results")
            self.read_results.add(arg)
            return lambda env: env.result(arg)
        self.fail(path, f"unknown operator {op!r} (known: {', '.join(self.OPERATORS)})")


# --------------------------------------------------------------------------- reading and validating a file

def _no_duplicate_keys(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise InstrumentError(f"duplicate key {key!r}")
        out[key] = value
    return out


class _Reader:
    def __init__(self, name: str):
        self.name = name

    def fail(self, where: str, message: str):
        raise InstrumentError(f"{self.name}: {where}: {message}" if where else f"{self.name}: {message}")

    def obj(self, value, where, required=(), optional=()) -> dict:
        if not isinstance(value, dict):
            self.fail(where, "expected an object")
        missing = [k for k in required if k not in value]
        if missing:
            self.fail(where, f"missing {', '.join(missing)}")
        unknown = sorted(set(value) - set(required) - set(optional))
        if unknown:
            self.fail(where, f"unknown key(s) {', '.join(unknown)}")
        return value

    def key(self, value, where, pattern=_KEY) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            self.fail(where, f"{value!r} is not a valid code")
        return value

    def text(self, value, where) -> Text:
        if isinstance(value, dict):
            absent = [lang for lang in LANGUAGES if lang not in value]
            if absent:
                self.fail(where, "missing translation " + ", ".join(repr(lang) for lang in absent))
        self.obj(value, where, required=LANGUAGES)
        for lang in LANGUAGES:
            if not isinstance(value[lang], str) or not value[lang].strip():
                self.fail(where, f"missing translation {lang!r}")
        return Text(**{lang: value[lang].strip() for lang in LANGUAGES})

    def options(self, value, where, missing=False) -> tuple[Option, ...]:
        if not isinstance(value, list) or not value:
            self.fail(where, "expected a non-empty list of options")
        out = []
        for i, raw in enumerate(value):
            self.obj(raw, f"{where}[{i}]", required=("code", "label"))
            code = self.key(raw["code"], f"{where}[{i}].code")
            if any(o.code == code for o in out):
                self.fail(f"{where}[{i}]", f"duplicate option {code!r}")
            out.append(Option(code, self.text(raw["label"], f"{where}[{i}] ({code}).label"), missing))
        return tuple(out)

    def codes(self, value, where, meanings: set[str], sources: Mapping[str, str]) -> dict[str, dict[str, str]]:
        self.obj(value, where, optional=tuple(value) if isinstance(value, dict) else ())
        out = {}
        for source, table in value.items():
            if source not in sources:
                self.fail(f"{where}.{source}", "source not declared in import_sources")
            self.obj(table, f"{where}.{source}", optional=tuple(table) if isinstance(table, dict) else ())
            for number, meaning in table.items():
                if not _IMPORT_CODE.match(number):
                    self.fail(f"{where}.{source}", f"{number!r} is not a whole number without leading zeros")
                if meaning not in meanings:
                    self.fail(f"{where}.{source}.{number}", f"unknown answer {meaning!r}")
            out[source] = MappingProxyType(dict(table))
        return out


def _parse(data: Any, name: str, path: Path | None = None) -> Instrument:
    r = _Reader(name)
    r.obj(data, "", required=("format", "code", "title", "description", "ages", "respondent", "scales", "items",
                              "domains"),
          optional=("version", "age_routing", "import_sources", "non_response", "results", "notes"))
    if data["format"] != FORMAT:
        r.fail("format", f"unsupported format {data['format']!r} (this engine reads {FORMAT})")
    code = r.key(data["code"], "code", _INSTRUMENT_CODE)
    if path is not None and path.stem != code:
        r.fail("code", f"{code!r} does not match the file name {path.name!r}")
    version = data.get("version", "")
    if not isinstance(version, str):
        r.fail("version", "expected a string")
    title = r.text(data["title"], "title")
    description = r.text(data["description"], "description")

    ages = r.obj(data["ages"], "ages", required=("min", "max"))
    lo, hi = ages["min"], ages["max"]
    if not isinstance(lo, int) or isinstance(lo, bool) or lo < 0:
        r.fail("ages.min", "expected a whole number >= 0")
    if hi is not None and (not isinstance(hi, int) or isinstance(hi, bool) or hi < lo):
        r.fail("ages.max", "expected a whole number >= min, or null for no upper limit")
    if data["respondent"] not in RESPONDENTS:
        r.fail("respondent", f"{data['respondent']!r} is not one of {', '.join(RESPONDENTS)}")
    age_routing = data.get("age_routing", False)
    if not isinstance(age_routing, bool):
        r.fail("age_routing", "expected true or false")

    sources = data.get("import_sources", {})
    r.obj(sources, "import_sources", optional=tuple(sources) if isinstance(sources, dict) else ())
    for source, note in sources.items():
        r.key(source, f"import_sources.{source}")
        if not isinstance(note, str):
            r.fail(f"import_sources.{source}", "expected a description")

    nr = r.obj(data.get("non_response", {"options": [], "codes": {}}), "non_response",
               required=("options",), optional=("codes", "notes"))
    non_response = r.options(nr["options"], "non_response.options", missing=True) if nr["options"] else ()
    nr_meanings = {o.code for o in non_response}
    nr_codes = r.codes(nr.get("codes", {}), "non_response.codes", nr_meanings, sources)

    scales: dict[str, Scale] = {}
    r.obj(data["scales"], "scales", optional=tuple(data["scales"]) if isinstance(data["scales"], dict) else ())
    if not data["scales"]:
        r.fail("scales", "no scale defined")
    for scode, raw in data["scales"].items():
        where = f"scales.{r.key(scode, 'scales')}"
        r.obj(raw, where, required=("options",), optional=("severe", "codes", "notes"))
        options = r.options(raw["options"], f"{where}.options")
        meanings = {o.code for o in options}
        clash = meanings & nr_meanings
        if clash:
            r.fail(where, f"option(s) {', '.join(sorted(clash))} are already non-response answers")
        severe = raw.get("severe", [])
        if not isinstance(severe, list) or not set(severe) <= meanings:
            r.fail(f"{where}.severe", f"expected a list of this scale's options, got {severe!r}")
        codes = r.codes(raw.get("codes", {}), f"{where}.codes", meanings, sources)
        for source, table in codes.items():
            both = set(table) & set(nr_codes.get(source, {}))
            if both:
                r.fail(f"{where}.codes.{source}", f"code(s) {', '.join(sorted(both))} also mean a non-response")
        scales[scode] = Scale(scode, options, frozenset(severe), MappingProxyType(codes))

    # Domains are read first (items name them), their rules compiled once the items exist.
    if not isinstance(data["domains"], list) or not data["domains"]:
        r.fail("domains", "expected a non-empty list")
    domain_raw = []
    for i, raw in enumerate(data["domains"]):
        r.obj(raw, f"domains[{i}]", required=("code", "label", "rule"), optional=("notes",))
        dcode = r.key(raw["code"], f"domains[{i}].code")
        if any(d[0] == dcode for d in domain_raw):
            r.fail(f"domains[{i}]", f"duplicate domain {dcode!r}")
        domain_raw.append((dcode, r.text(raw["label"], f"domains[{i}] ({dcode}).label"), raw["rule"]))
    domain_codes = [d[0] for d in domain_raw]

    if not isinstance(data["items"], list) or not data["items"]:
        r.fail("items", "expected a non-empty list")
    items: dict[str, Item] = {}
    for i, raw in enumerate(data["items"]):
        where = f"items[{i}]"
        r.obj(raw, where, required=("code", "text", "scale"),
              optional=("domain", "shown_if", "options", "required", "hint", "notes"))
        icode = r.key(raw["code"], f"{where}.code")
        where = f"items[{i}] ({icode})"
        if icode in items:
            r.fail(where, "duplicate item code")
        text = r.text(raw["text"], f"{where}.text")
        scale = scales.get(raw["scale"])
        if scale is None:
            r.fail(f"{where}.scale", f"unknown scale {raw['scale']!r} (defined: {', '.join(scales)})")
        options = scale.options
        if "options" in raw:
            chosen = raw["options"]
            if not isinstance(chosen, list) or not chosen or not set(chosen) <= {o.code for o in options}:
                r.fail(f"{where}.options", f"expected a non-empty list of options of scale {scale.code!r}")
            options = tuple(o for o in options if o.code in chosen)  # the scale's order
        domain = raw.get("domain")
        if domain is not None and domain not in domain_codes:
            r.fail(f"{where}.domain", f"unknown domain {domain!r}")
        required = raw.get("required", True)
        if not isinstance(required, bool):
            r.fail(f"{where}.required", "expected true or false")
        hint = r.text(raw["hint"], f"{where}.hint") if "hint" in raw else None
        shown_if = raw.get("shown_if")
        item = Item(icode, i, text, scale, options + non_response, domain, required, hint, shown_if)
        if shown_if is not None:
            compiler = _Compiler(f"{name}: {where}.shown_if", items)
            object.__setattr__(item, "_shown", compiler.compile(shown_if))
        items[icode] = item

    domains = []
    for dcode, label, rule in domain_raw:
        compiler = _Compiler(f"{name}: domains ({dcode}).rule", items)
        expr = compiler.compile(rule)
        domains.append(Domain(dcode, label, rule, tuple(compiler.read_items), expr))

    results_raw = data.get("results", {})
    r.obj(results_raw, "results", optional=tuple(results_raw) if isinstance(results_raw, dict) else ())
    results_raw = dict(results_raw)
    for rname in results_raw:
        r.key(rname, "results")
        if rname in RESERVED_RESULTS:
            r.fail(f"results.{rname}", "this name is reserved")
    if OVERALL not in results_raw:
        results_raw[OVERALL] = {"any": [{"domain": d} for d in domain_codes]}
    results, reads = {}, {}
    for rname, rule in results_raw.items():
        compiler = _Compiler(f"{name}: results.{rname}", items, domain_codes, set(results_raw) - {rname})
        results[rname] = compiler.compile(rule)
        reads[rname] = compiler.read_results
    _check_acyclic(reads, r)

    instrument = Instrument(
        code=code, version=version, title=title, description=description, min_age=lo, max_age=hi,
        respondent=data["respondent"], age_routing=age_routing, import_sources=MappingProxyType(dict(sources)),
        scales=MappingProxyType(scales), non_response=non_response, non_response_codes=MappingProxyType(nr_codes),
        items=tuple(items.values()), domains=tuple(domains), result_names=tuple(results_raw), path=path,
        _results=MappingProxyType(results), _source=json.dumps(data, ensure_ascii=False),
    )
    return instrument


def _check_acyclic(reads: Mapping[str, set[str]], r: _Reader):
    state: dict[str, int] = {}

    def visit(name, trail):
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            r.fail("results", "results refer to each other in a cycle: " + " → ".join(trail + [name]))
        state[name] = 1
        for other in sorted(reads[name]):
            visit(other, trail + [name])
        state[name] = 2

    for name in reads:
        visit(name, [])


def load_instrument_file(path: str | Path) -> Instrument:
    """Read and validate one instrument file (not cached). Raises :class:`InstrumentError`."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicate_keys)
    except InstrumentError as exc:
        raise InstrumentError(f"{path.name}: {exc}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InstrumentError(f"{path.name}: cannot read: {exc}") from None
    return _parse(data, path.name, path)


# --------------------------------------------------------------------------- registry

class Registry:
    """The instruments of one directory, each loaded and validated once.

    The package's own directory is the default registry behind :func:`load_instrument`;
    tests and tools may point a ``Registry`` at any other directory.
    """

    def __init__(self, directory: str | Path = INSTRUMENTS_DIR):
        self.directory = Path(directory)
        self._cache: dict[str, Instrument] = {}

    def codes(self) -> list[str]:
        return sorted(p.stem for p in self.directory.glob("*.json"))

    def get(self, code: str) -> Instrument:
        if code not in self._cache:
            if not isinstance(code, str) or not _INSTRUMENT_CODE.match(code):
                raise UnknownInstrument(code)
            path = self.directory / f"{code}.json"
            if not path.is_file():
                raise UnknownInstrument(code)
            self._cache[code] = load_instrument_file(path)
        return self._cache[code]

    def all(self) -> list[Instrument]:
        """Every instrument, youngest age range first; also checks the age routing does not overlap."""
        instruments = sorted((self.get(c) for c in self.codes()), key=lambda i: (i.min_age, i.code))
        routed = [i for i in instruments if i.age_routing]
        for a, b in zip(routed, routed[1:]):
            if a.max_age is None or a.max_age >= b.min_age:
                raise InstrumentError(f"{a.code} and {b.code} are both routed by age from {b.min_age}; "
                                      "set age_routing to false on one of them")
        return instruments

    def for_age(self, age: int, respondent: str | None = None) -> Instrument | None:
        """The instrument for ``age`` completed years.

        Without ``respondent``: the instrument routed by age (``age_routing``), e.g. 2-4 → cfm-2-4,
        5-17 → cfm-5-17, 18+ → wg-ss, under 2 → None (the CFM does not apply). With ``respondent``
        ("parent", "self", "teacher"): the instrument for that respondent at that age, routed first.
        """
        if not isinstance(age, int) or isinstance(age, bool) or age < 0:
            return None
        candidates = [i for i in self.all() if i.applies_to_age(age)
                      and (i.respondent == respondent if respondent else i.age_routing)]
        candidates.sort(key=lambda i: not i.age_routing)
        return candidates[0] if candidates else None

    def clear(self):
        self._cache.clear()


@lru_cache(maxsize=1)
def _default() -> Registry:
    return Registry(INSTRUMENTS_DIR)


def load_instrument(code: str) -> Instrument:
    """The instrument with this code (``cfm-2-4``, ``cfm-5-17``, ``wg-ss`` …), validated and cached.

    Raises :class:`UnknownInstrument` for an unknown code and :class:`InstrumentError` for a bad file.
    """
    return _default().get(code)


def all_instruments() -> list[Instrument]:
    """Every instrument in ``instruments/``, youngest age range first."""
    return _default().all()


def instrument_for_age(age: int, respondent: str | None = None) -> Instrument | None:
    """The instrument for ``age`` completed years on the interview date (see :meth:`Registry.for_age`)."""
    return _default().for_age(age, respondent)


def clear_cache():
    """Forget loaded instruments (after editing a file in a running process)."""
    _default().clear()


def completed_years(birth_date: dt.date, on: dt.date) -> int:
    """Age in completed years on the date ``on`` (the interview date).

    A person born on 29 February completes a year on 1 March in common years (the same rule as
    ``Learner.age_on``): born 2016-02-29 → 4 on 2020-02-29, still 4 on 2021-02-28, 5 on 2021-03-01.
    """
    if isinstance(birth_date, dt.datetime):
        birth_date = birth_date.date()
    if isinstance(on, dt.datetime):
        on = on.date()
    if on < birth_date:
        raise ValueError("the date is before the birth date")
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


# --------------------------------------------------------------------------- answers

def _given(value) -> bool:
    return value is not None and value != ""


def visible_items(instrument: Instrument, answers: Mapping[str, Any] | None) -> list[Item]:
    """The items to show given the current answers, in order, following every skip condition.

    A condition reads only answers of items that are themselves shown, so a stale answer
    in a skipped branch never opens anything. An item whose condition cannot be decided yet
    (its gate is unanswered, or answered ``dont_know``) is not shown: a server-rendered form
    shows the questions progressively as the gates are answered.
    """
    answers = answers if isinstance(answers, Mapping) else {}
    shown: list[Item] = []
    seen: dict[str, Any] = {}
    env = _Env(instrument, seen)
    for item in instrument.items:
        if item._shown is None or item._shown(env) is True:
            shown.append(item)
            if _given(answers.get(item.code)):
                seen[item.code] = answers[item.code]
    return shown


def clean_answers(instrument: Instrument, answers: Mapping[str, Any] | None) -> dict[str, Any]:
    """The answers of the shown items only, in item order: answers of skipped branches, unknown keys and
    empty values are dropped. Values are kept as given (validate them with :func:`validate_answers`)."""
    answers = answers if isinstance(answers, Mapping) else {}
    return {i.code: answers[i.code] for i in visible_items(instrument, answers) if _given(answers.get(i.code))}


def answer_problems(instrument: Instrument, answers: Any, age: Any = None,
                    require_complete: bool = False) -> dict[str, Problem]:
    """Field → :class:`Problem` (stable ``code``: not_a_mapping, unknown_item, unknown_value, invalid_age,
    age_out_of_range, required). Fields are item codes, ``age`` and ``answers``.

    An answer left in a skipped branch is not a problem (it is ignored); with ``require_complete``
    every shown, required item needs an answer (``dont_know`` and ``refused`` are answers).
    """
    problems: dict[str, Problem] = {}
    if age is not None:
        if not isinstance(age, int) or isinstance(age, bool) or age < 0:
            problems["age"] = Problem("invalid_age")
        elif not instrument.applies_to_age(age):
            problems["age"] = Problem("age_out_of_range", {"min": instrument.min_age, "max": instrument.max_age})
    if not isinstance(answers, Mapping):
        problems["answers"] = Problem("not_a_mapping")
        return problems
    index = instrument._index
    for key, value in answers.items():
        item = index.get(key) if isinstance(key, str) else None
        if item is None:
            problems[str(key)] = Problem("unknown_item")
        elif _given(value) and (not isinstance(value, str) or value not in item.values):
            problems[key] = Problem("unknown_value")
    if require_complete:
        for item in visible_items(instrument, answers):
            if item.required and item.code not in problems and not _given(answers.get(item.code)):
                problems[item.code] = Problem("required")
    return problems


def validate_answers(instrument: Instrument, answers: Any, age: Any = None,
                     require_complete: bool = False) -> dict[str, Any]:
    """Field → user-facing message (lazy, translated when rendered); empty when the answers are fine.

    See :func:`answer_problems` for the checks and the stable error codes behind the messages.
    """
    return {k: p.message for k, p in answer_problems(instrument, answers, age, require_complete).items()}


# --------------------------------------------------------------------------- scoring

@dataclass(frozen=True)
class ScoreResult:
    """The scored questionnaire. Every flag is tri-state: True, False or None (indeterminate)."""

    instrument: str
    domains: dict[str, Tri]
    functional_difficulty: Tri
    domain_count: int
    results: dict[str, Tri] = field(default_factory=dict)  # every named result, in the file's order
    missing: tuple[str, ...] = ()  # shown, required items unanswered or answered dont_know/refused
    answers: dict[str, str] = field(default_factory=dict)  # the answers used (skipped branches dropped)
    disability_1: Tri = None  # WG-SS only
    disability_2: Tri = None
    disability_3: Tri = None
    disability_4: Tri = None

    @property
    def flagged_domains(self) -> list[str]:
        return [d for d, v in self.domains.items() if v is True]

    @property
    def indeterminate_domains(self) -> list[str]:
        return [d for d, v in self.domains.items() if v is None]

    @property
    def complete(self) -> bool:
        return not self.missing

    def as_api(self) -> dict[str, Any]:
        """The stateless API answer: ``{"domains": {...}, <results in file order>, "domain_count": n}``.

        CFM: ``{"domains", "functional_difficulty", "domain_count"}``; WG-SS adds ``disability_1`` …
        ``disability_4`` before ``functional_difficulty`` (= disability_3).
        """
        return {"domains": dict(self.domains), **self.results, "domain_count": self.domain_count}


def score(instrument: Instrument, answers: Mapping[str, Any]) -> ScoreResult:
    """Score the answers; raises :class:`AnswerError` for unknown items or answer values.

    Only the branches chosen by the gate questions are read (answers left in a skipped
    branch are ignored); ``dont_know``, ``refused`` and unanswered items are missing, and a
    missing answer makes a rule indeterminate only where it could change the outcome.
    """
    problems = answer_problems(instrument, answers)
    if problems:
        raise AnswerError(problems)
    used = clean_answers(instrument, answers)
    env = _Env(instrument, used)
    env.domains = {d.code: d._rule(env) for d in instrument.domains}
    memo: dict[str, Tri] = {}

    def result(name: str) -> Tri:
        if name not in memo:
            memo[name] = instrument._results[name](env)
        return memo[name]

    env.results = result
    results = {name: result(name) for name in instrument.result_names}
    visible = visible_items(instrument, used)
    missing = tuple(i.code for i in visible if i.required and (i.code not in used or used[i.code] in i.missing_values))
    return ScoreResult(
        instrument=instrument.code,
        domains=dict(env.domains),
        functional_difficulty=results[OVERALL],
        domain_count=sum(v is True for v in env.domains.values()),
        results=results,
        missing=missing,
        answers=used,
        **{k: results[k] for k in ("disability_1", "disability_2", "disability_3", "disability_4") if k in results},
    )


# --------------------------------------------------------------------------- imports

def _normalize_code(value) -> str | None:
    """A numeric answer code as text ('1'); None for an empty cell; ValueError for anything else."""
    if value is None or isinstance(value, bool):
        if value is None:
            return None
        raise ValueError
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if not value.is_integer():
            raise ValueError
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.endswith(".0"):
            text = text[:-2]
        if not text.isdigit() or not text.isascii():
            raise ValueError
        return str(int(text))
    raise ValueError


def map_import_codes(instrument: Instrument, source: str, raw: Mapping[str, Any]) -> dict[str, str]:
    """Numeric answer codes of a source (``"cfm"`` standalone, ``"mics6"``, ``"wg"`` …) → answer meanings.

    Keys are the instrument's item codes; empty cells are left out (unanswered). A code the
    file does not map for that source and item is refused (:class:`AnswerError`, code
    ``unknown_code``), never guessed: the same number means different answers in different
    sources (behaviour "4" is *a lot more* standalone but *more* in MICS6).
    """
    if source not in instrument.import_sources:
        raise AnswerError({"source": Problem("unknown_source")})
    if not isinstance(raw, Mapping):
        raise AnswerError({"answers": Problem("not_a_mapping")})
    index = instrument._index
    out: dict[str, str] = {}
    problems: dict[str, Problem] = {}
    for key, value in raw.items():
        item = index.get(key) if isinstance(key, str) else None
        if item is None:
            problems[str(key)] = Problem("unknown_item")
            continue
        try:
            number = _normalize_code(value)
        except ValueError:
            problems[key] = Problem("invalid_code")
            continue
        if number is None:
            continue
        meaning = (item.scale.codes.get(source, {}).get(number)
                   or instrument.non_response_codes.get(source, {}).get(number))
        if meaning is None or meaning not in item.values:
            problems[key] = Problem("unknown_code", {"code": number})
            continue
        out[key] = meaning
    if problems:
        raise AnswerError(problems)
    return {code: out[code] for code in instrument.item_codes if code in out}
