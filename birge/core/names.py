"""Names in Kyrgyz, Russian and Latin spellings: display form and folded keys.

Names are stored and shown as entered (:func:`normalize_display`: NFC,
trimmed, one space between words; ң ө ү are kept). Search and matching
compare *folded keys* instead (:func:`fold`): one canonical Latin spelling
for every way the same name is written —

* Kyrgyz Cyrillic, Russian Cyrillic and Latin transliterations
  (Жээнбеков = Jeenbekov = Zheenbekov, Айгүл = Айгуль = Aigul = Aygül);
* lookalike letters mixed inside a word (Latin ``o`` in a Cyrillic word,
  Greek θ for ө, Cyrillic ``у`` for ``ү``, ``н`` for ``ң``);
* transliteration variants (ж: j/zh/dj, ү: ü/u/y/ue, ө: ö/o/oe, ң: ng/n,
  ы: y/i, х: kh/h, й: y/i), doubled letters, soft and hard signs, diacritics.

:func:`split_person` turns the three name fields into the parts that carry
identity (given name, family root, father's-name root, sex hint) whichever
naming form was used: Russian-style (Асанов Бакыт Асанович) or Kyrgyz
(Бакыт Асан уулу, with ``Асан уулу`` in the surname or patronymic field).

Pure Python, no Django. Folding is cached, so running it over millions of
records costs one dictionary lookup per distinct name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "PersonKey",
    "cyrillic_key",
    "fold",
    "fold_token",
    "name_root",
    "normalize_display",
    "person_parts",
    "search_key",
    "search_terms",
    "split_person",
]

# --- display ---------------------------------------------------------------

_WS = re.compile(r"\s+")


def normalize_display(s: str | None) -> str:
    """What is stored and shown: NFC, trimmed, inner whitespace collapsed to one space."""
    if not s:
        return ""
    return _WS.sub(" ", unicodedata.normalize("NFC", s)).strip()


# --- lookalikes ------------------------------------------------------------

# Always folded, whatever the script around them: letters of neighbouring
# alphabets and legacy substitutes that stand for Kyrgyz letters.
_ALWAYS = str.maketrans({
    "θ": "ө", "Θ": "Ө", "ϴ": "Ө", "ɵ": "ө", "Ɵ": "Ө",  # theta / barred o for ө
    "ӧ": "ө", "Ӧ": "Ө", "ӱ": "ү", "Ӱ": "Ү", "ұ": "ү", "Ұ": "Ү",
    "ҥ": "ң", "Ҥ": "Ң", "ӊ": "ң", "Ӊ": "Ң", "ӈ": "ң", "Ӈ": "Ң",
    "ο": "o", "Ο": "O", "α": "a", "Α": "A", "ε": "e", "Ε": "E",  # Greek
    "ı": "i", "İ": "I",  # Turkish dotless / dotted i
    "ʼ": None, "'": None, "’": None, "‘": None, "`": None, "ʻ": None, "ʹ": None, "´": None,
    "-": " ", "‐": " ", "‑": " ", "–": " ", "—": " ", ".": " ", ",": " ", "_": " ",
})

# Inside a word that is Cyrillic, Latin lookalikes become Cyrillic ...
_LAT_IN_CYR = str.maketrans({
    "A": "А", "a": "а", "B": "В", "C": "С", "c": "с", "E": "Е", "e": "е", "H": "Н",
    "K": "К", "k": "к", "M": "М", "O": "О", "o": "о", "P": "Р", "p": "р", "T": "Т",
    "X": "Х", "x": "х", "Y": "У", "y": "у",
})
# ... and inside a Latin word, Cyrillic lookalikes become Latin.
_CYR_IN_LAT = str.maketrans({
    "А": "A", "а": "a", "В": "B", "С": "C", "с": "c", "Е": "E", "е": "e", "Н": "H",
    "К": "K", "к": "k", "М": "M", "О": "O", "о": "o", "Р": "P", "р": "p", "Т": "T",
    "Х": "X", "х": "x", "У": "Y", "у": "y", "І": "I", "і": "i", "Ј": "J", "ј": "j",
    "Ѕ": "S", "ѕ": "s",
})
_LOOKALIKE_LAT = frozenset("AaBCcEeHKkMOoPpTXxYy")
_LOOKALIKE_CYR = frozenset("АаВСсЕеНКкМОоРрТХхУуІіЈјЅѕ")

_HAS_CYR = re.compile(r"[\u0400-\u04ff]")
_HAS_LAT = re.compile(r"[A-Za-z\u00c0-\u024f]")


def _script_fix(word: str) -> str:
    """Make a word that mixes Latin and Cyrillic letters one script (its dominant one)."""
    cyr = lat = cyr_own = lat_own = 0
    for ch in word:
        if "\u0400" <= ch <= "\u04ff":
            cyr += 1
            cyr_own += ch not in _LOOKALIKE_CYR
        elif ch.isalpha() and ch.isascii() or "\u00c0" <= ch <= "\u024f":
            lat += 1
            lat_own += ch not in _LOOKALIKE_LAT
    if (cyr_own, cyr) >= (lat_own, lat):
        return word.translate(_LAT_IN_CYR)
    return word.translate(_CYR_IN_LAT)


# --- transliteration and variants ------------------------------------------

# Cyrillic (lower case) to the canonical Latin key alphabet: already folded,
# so ж→j, х→h, ң→n, ы/й→i, ү→u, ө→o, ё→e, щ→sh, soft/hard signs dropped.
_CYR_TO_LAT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "j",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "ң": "n",
    "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ү": "u",
    "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "", "ы": "i",
    "ь": "", "э": "e", "ю": "iu", "я": "ia",
    # neighbouring Cyrillic alphabets seen in registers
    "і": "i", "ї": "i", "є": "e", "ә": "a", "ғ": "g", "қ": "k", "һ": "h", "ў": "u",
    "ҳ": "h", "ҷ": "j", "ј": "j", "ѕ": "z",
})

# Latin spelling variants, longest first. Applied to every word (also to the
# transliterated Cyrillic, so "нг" and "ng" fold alike).
_VARIANTS = {
    "dzh": "j", "zh": "j", "dj": "j", "kh": "h", "shch": "sh", "sch": "sh",
    "ng": "n", "ue": "u", "oe": "o", "x": "ks", "w": "v", "q": "k", "y": "i",
}
_VARIANT_RE = re.compile("|".join(sorted(_VARIANTS, key=len, reverse=True)))
_NOT_KEY = re.compile(r"[^a-z0-9]+")
_REPEAT = re.compile(r"([a-z])\1+")


def _variants(m: re.Match) -> str:
    return _VARIANTS[m.group(0)]


def _strip_marks(s: str) -> str:
    if s.isascii():
        return s
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


@lru_cache(maxsize=1 << 18)
def fold_token(word: str) -> str:
    """The key of one word (no spaces inside); may be empty."""
    if _HAS_CYR.search(word) and _HAS_LAT.search(word):
        word = _script_fix(word)
    w = word.casefold()
    if not w.isascii():
        w = _strip_marks(w.translate(_CYR_TO_LAT))
    w = _VARIANT_RE.sub(_variants, w)
    w = _NOT_KEY.sub("", w)
    w = _REPEAT.sub(r"\1", w)
    if "ie" in w:  # iotated e: Yelena / Елена, Sergeyevich / Сергеевич, Valeriyevna / Валерьевна
        w = _REPEAT.sub(r"\1", w.replace("ie", "e"))
    return w


@lru_cache(maxsize=1 << 20)
def fold(s: str | None) -> str:
    """One canonical Latin key for a name or phrase: words folded, joined by one space."""
    if not s:
        return ""
    s = unicodedata.normalize("NFC", s).translate(_ALWAYS)
    return " ".join(k for k in map(fold_token, s.split()) if k)


_CYR_LEGACY = str.maketrans({"ү": "у", "ө": "о", "ң": "н", "ё": "е", "ъ": None, "ь": None, "һ": "х", "қ": "к",
                             "ғ": "г", "ә": "а", "і": "и", "ұ": "у"})
_NOT_CYR_KEY = re.compile(r"[^\u0430-\u044f ]+")


@lru_cache(maxsize=1 << 18)
def cyrillic_key(s: str | None) -> str:
    """A Cyrillic name kept in its own script for counting typos: case-folded, lookalikes
    made Cyrillic, the legacy substitutes and soft/hard signs folded (Үлкүннур → улкуннур).

    Transliteration can turn one mistyped Cyrillic letter into two Latin ones
    (and doubled letters collapse), so a typo is counted here when both spellings
    are Cyrillic. Empty when the name is not written in Cyrillic.
    """
    if not s:
        return ""
    s = unicodedata.normalize("NFC", s).translate(_ALWAYS)
    words = []
    for w in s.split():
        if _HAS_LAT.search(w):
            if not _HAS_CYR.search(w):
                return ""
            w = _script_fix(w)
        words.append(w)
    key = _NOT_CYR_KEY.sub("", " ".join(words).casefold().translate(_CYR_LEGACY))
    return key if _HAS_CYR.search(key) else ""


def search_key(s: str | None) -> str:
    """The folded value kept in a search column; compare with :func:`search_terms` by ``contains``."""
    return fold(s)


# Letters that may be the first half of a two-letter spelling whose key is
# different (zh→j, dj→j, kh→h, sch→sh; Cyrillic д of дж): a query ending in
# one is cut before it, so "Zh" finds Жылдыз and "Ак" still finds Ахмед's "ah".
_OPEN_DIGRAPH = re.compile(r"(?:[zdkc]|dz|sc|д)$", re.IGNORECASE)


def search_terms(query: str | None) -> list[str]:
    """Folded terms for a typed query, each to be found (``contains``) in a search key.

    The last word may be incomplete: a trailing half of a two-letter spelling
    is dropped so the prefix still matches.
    """
    if not query:
        return []
    words = unicodedata.normalize("NFC", query).translate(_ALWAYS).split()
    terms = [fold_token(w) for w in words]
    if words and _OPEN_DIGRAPH.search(words[-1]):
        cut = _OPEN_DIGRAPH.sub("", words[-1])
        terms[-1] = fold_token(cut) if cut else ""
    return [t for t in terms if t]


# --- persons ---------------------------------------------------------------

_MALE, _FEMALE = "male", "female"
# Folded relationship words: уулу/uulu (son of), кызы/kyzy (daughter of), and
# the Kazakh/Uzbek forms seen in registers.
_MARKERS = {"ulu": _MALE, "uli": _MALE, "ugli": _MALE, "ogli": _MALE, "kizi": _FEMALE}
_GLUED_MARKER = re.compile(r"^([a-z]{2,}?)(ulu|kizi)$")
# Patronymic endings (folded; -yevich/-ьевич fold to -evich), longest first.
_PATRONYMIC = (
    ("ovich", _MALE), ("evich", _MALE), ("ovna", _FEMALE), ("evna", _FEMALE),
    ("ichna", _FEMALE), ("inichna", _FEMALE), ("vich", _MALE), ("vna", _FEMALE), ("ich", _MALE),
)
_PATRONYMIC = tuple(sorted(_PATRONYMIC, key=lambda p: len(p[0]), reverse=True))
_SURNAME = (("ova", _FEMALE), ("eva", _FEMALE), ("ov", _MALE), ("ev", _MALE))
_TRAILING_VOWELS = re.compile(r"[aeiou]+$")


@lru_cache(maxsize=1 << 18)
def name_root(key: str) -> str:
    """Root of a folded personal name as used inside other names: Sooronbai → soronb.

    Trailing vowels go, so a father's name meets the patronymic and surname
    built on it (Sooronbai / Sooronbaevich / Sooronbaev all give ``soronb``).
    """
    root = _TRAILING_VOWELS.sub("", key)
    return root if len(root) >= 2 else key


@lru_cache(maxsize=1 << 18)
def _surname_root(key: str) -> tuple[str, str | None]:
    for suffix, sex in _SURNAME:
        if key.endswith(suffix) and len(key) - len(suffix) >= 2:
            return name_root(key[: -len(suffix)]), sex
    return name_root(key), None


@lru_cache(maxsize=1 << 18)
def _patronymic_root(key: str) -> tuple[str, str | None]:
    for suffix, sex in _PATRONYMIC:
        if key.endswith(suffix) and len(key) - len(suffix) >= 2:
            return name_root(key[: -len(suffix)]), sex
    return name_root(key), None


def _find_marker(tokens: list[str], glued: bool = True) -> tuple[int, int, str, str] | None:
    """(start, end, father's-name key, sex) of "X уулу" / "Xуулу" in a field's words, or None.

    ``glued`` also looks for the relationship word written onto the name
    ("Асануулу"); never in the given-name field, where names like Айсулуу
    end the same way.
    """
    for i, t in enumerate(tokens):
        sex = _MARKERS.get(t)
        if sex and i > 0:
            return i - 1, i + 1, tokens[i - 1], sex
    if not glued:
        return None
    for i, t in enumerate(tokens):
        m = _GLUED_MARKER.match(t)
        if m and len(t) > 5:
            return i, i + 1, m.group(1), _MARKERS[m.group(2)]
    return None


@dataclass(frozen=True, slots=True)
class PersonKey:
    """The identity-bearing parts of a person's name, folded.

    ``given``: the given name(s); ``family``: root of a Russian-style surname
    (empty in the Kyrgyz form); ``father``: root of the father's name, from a
    patronymic or ``X уулу/кызы``; ``sex_hint``: what the name form says about sex.
    """

    given: str
    family: str
    father: str
    sex_hint: str | None

    @property
    def roots(self) -> frozenset[str]:
        return frozenset(r for r in (self.family, self.father) if r)


@lru_cache(maxsize=1 << 17)
def _field(value: str, glued: bool = True) -> tuple[tuple[str, ...], tuple[str, ...], str, str | None]:
    """(words before a relationship word, words after it, father's root, sex) of one name field."""
    tokens = fold(value).split()
    found = _find_marker(tokens, glued)
    if found:
        start, end, key, sex = found
        return tuple(tokens[:start]), tuple(tokens[end:]), name_root(key), sex
    return tuple(tokens), (), "", None


def split_person(last: str | None, first: str | None, patronymic: str | None) -> PersonKey:
    """Split the three name fields into a :class:`PersonKey`, whichever naming form was used."""
    return PersonKey(*person_parts(last, first, patronymic))


def _roots(tokens: tuple[str, ...]) -> tuple[str, str | None]:
    roots, sex_hint = [], None
    for t in tokens:
        root, sex = _surname_root(t)
        roots.append(root)
        sex_hint = sex_hint or sex
    return " ".join(roots), sex_hint


@lru_cache(maxsize=1 << 17)
def _surname_field(value: str) -> tuple:
    rest, tail, father, sex = _field(value)
    family, family_sex = _roots(rest + tail)
    family_rest, rest_sex = _roots(rest)
    return father, sex, family, family_sex, family_rest, rest_sex, " ".join(tail)


@lru_cache(maxsize=1 << 17)
def _given_field(value: str) -> tuple:
    rest, tail, father, sex = _field(value, False)
    return father, sex, " ".join(rest + tail)


@lru_cache(maxsize=1 << 17)
def _patronymic_field(value: str) -> tuple:
    rest, tail, father, sex = _field(value)
    words = rest + tail
    root, root_sex = _patronymic_root(words[-1]) if words else ("", None)
    return father, sex, root, root_sex


def person_parts(last: str | None, first: str | None, patronymic: str | None) -> tuple[str, str, str, str | None]:
    """:func:`split_person` as a plain tuple ``(given, family, father, sex_hint)`` (faster in bulk).

    A relationship word (уулу/кызы) may sit in any field; the word before it is
    the father's name (the patronymic field first, then the surname, then the
    given-name field). Each field's analysis is cached, so this is cheap over
    millions of records whose name combinations are all different.
    """
    l_father, l_sex, family, family_sex, family_rest, rest_sex, l_tail = _surname_field(last or "")
    f_father, f_sex, given = _given_field(first or "")
    p_father, p_sex, p_root, p_root_sex = _patronymic_field(patronymic or "")
    if p_father:
        father, sex = p_father, p_sex
    elif l_father:
        father, sex = l_father, l_sex
        if not given and l_tail:  # "Асан уулу Бакыт" all in the surname field
            given, family, family_sex = l_tail, family_rest, rest_sex
    elif f_father:
        father, sex = f_father, f_sex
    elif p_root:
        father, sex = p_root, p_root_sex
    else:
        father, sex = "", None
    return given, family, father, sex or family_sex
