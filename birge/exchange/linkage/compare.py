"""Field comparisons: each field of a pair falls into one agreement level.

Level 0 always means "cannot compare" (a value is missing) and carries no
evidence. The levels of the seven comparisons are packed into one integer
(a *pattern*), so a pair's Fellegi-Sunter weight is one table lookup.
"""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz.distance import OSA, JaroWinkler

from .records import (
    DISTRICT, DOB, DOB_SWAPPED, FAMILY, FATHER, GIVEN, GIVEN_CYR, ORD, PIN, PIN_OK, PIN_VALID, REGION, SETTLEMENT, SEX,
)

# name, level labels (index = level)
COMPARISONS = (
    ("pin", ("n/a", "equal", "one typo apart", "different valid PINs")),
    ("first_name", ("n/a", "equal", "one typo apart", "similar (Jaro-Winkler ≥ 0.8)", "different")),
    ("father", ("n/a", "equal", "one typo apart", "different")),
    ("family", ("n/a", "equal", "one typo apart", "different", "other side's father name", "no common root")),
    ("birth_date", ("n/a", "equal", "day and month swapped", "within 3 days or one digit", "within a year",
                    "different")),
    ("sex", ("n/a", "equal", "different")),
    ("territory", ("n/a", "same settlement", "same district", "same region", "different region")),
)
NAMES = tuple(c[0] for c in COMPARISONS)
SIZES = tuple(len(c[1]) for c in COMPARISONS)
BASES = []
_b = 1
for _n in SIZES:
    BASES.append(_b)
    _b *= _n
N_PATTERNS = _b
B_PIN, B_GIVEN, B_FATHER, B_FAMILY, B_DOB, B_SEX, B_TERR = BASES

# Level numbers used by the rules in the engine
PIN_EQUAL, PIN_NEAR, PIN_DIFFERENT = 1, 2, 3
GIVEN_EQUAL, GIVEN_TYPO, GIVEN_SIMILAR, GIVEN_DIFFERENT = 1, 2, 3, 4
SEX_DIFFERENT = 2

_jw = JaroWinkler.normalized_similarity
_osa = OSA.distance


def unpack(pattern: int) -> tuple[int, ...]:
    out = []
    for n in SIZES:
        pattern, level = divmod(pattern, n)
        out.append(level)
    return tuple(out)


@lru_cache(maxsize=1 << 16)
def _vowel_norm(key: str) -> str:
    """u and i made one: Latin "y" writes ү (u) as well as ы and й (i) — Ymytgyl is Үмүтгүл —
    and "yo" writes ё (Artyom, Артём)."""
    return key.replace("u", "i").replace("io", "e")


def _typo(a: str, b: str) -> bool:
    """One slip of the pen apart: one edit, or the same name up to the vowels that Latin
    spellings blur (u/i from "y"). Not a similarity score: Асан and Үсөн stay different."""
    if _osa(a, b, score_cutoff=1) <= 1:
        return True
    va, vb = _vowel_norm(a), _vowel_norm(b)
    return (va != a or vb != b) and _osa(va, vb, score_cutoff=1) <= 1


def _cyr_typo(a: str, b: str) -> bool:
    """One edit apart in Cyrillic (one mistyped Cyrillic letter can be two in the Latin key)."""
    return bool(a and b) and _osa(a, b, score_cutoff=1) <= 1


def _name_level(a: str, b: str) -> int:
    """1 equal, 2 one typo apart, 3 different — for roots.

    "One typo" is one edit (optimal string alignment, so a swap of neighbours
    counts once). Similarity scores such as Jaro-Winkler are not used for this
    level: Kyrgyz names are built on each other (Азамат, Азаматжан, Азаматбек;
    Бермет, Берметкан) and score ≥ 0.92 while being different names.
    """
    if a == b:
        return 1
    return 2 if _typo(a, b) else 3


def compare(a: tuple, b: tuple) -> int:
    """The pattern (packed levels) of two prepared records."""
    code = 0
    # PIN: compared on the raw 14 characters, so a typo that made one invalid still counts as near
    pa, pb = a[PIN], b[PIN]
    if pa and pb:
        if pa == pb:
            code += PIN_EQUAL * B_PIN
        elif len(pa) == len(pb) and _osa(pa, pb, score_cutoff=1) <= 1:
            code += PIN_NEAR * B_PIN
        elif a[PIN_OK] >= PIN_VALID and b[PIN_OK] >= PIN_VALID:
            code += PIN_DIFFERENT * B_PIN
        # a different PIN that is not even valid is a damaged value: no evidence either way

    ga, gb = a[GIVEN], b[GIVEN]
    if ga and gb:
        if ga == gb:
            code += B_GIVEN
        elif _typo(ga, gb) or _cyr_typo(a[GIVEN_CYR], b[GIVEN_CYR]):
            code += 2 * B_GIVEN
        else:
            code += (3 if _jw(ga, gb) >= 0.80 else 4) * B_GIVEN

    fa, fb = a[FATHER], b[FATHER]
    father_level = _name_level(fa, fb) if fa and fb else 0
    code += father_level * B_FATHER

    sa, sb = a[FAMILY], b[FAMILY]
    if sa and sb:
        # A surname built on the father's name on both sides (Асанов … Асанович) repeats the
        # father comparison; counting it again would double the same evidence.
        if not (sa == fa and sb == fb):
            code += _name_level(sa, sb) * B_FAMILY
    elif not father_level and (sa or fa) and (sb or fb):
        # One side Russian-style without patronymic, the other Kyrgyz: surname root vs father's name
        code += (4 if _name_level(sa or fa, sb or fb) < 3 else 5) * B_FAMILY

    da, db = a[DOB], b[DOB]
    if da and db:
        if da == db:
            code += B_DOB
        elif a[DOB_SWAPPED] == db:
            code += 2 * B_DOB
        else:
            diff = abs(a[ORD] - b[ORD])
            if diff <= 3 or _osa(da, db, score_cutoff=1) <= 1:
                code += 3 * B_DOB
            elif diff <= 366:
                code += 4 * B_DOB
            else:
                code += 5 * B_DOB

    xa, xb = a[SEX], b[SEX]
    if xa and xb:
        code += (1 if xa == xb else 2) * B_SEX

    if a[DISTRICT] and b[DISTRICT]:
        if a[DISTRICT] == b[DISTRICT]:
            code += (1 if a[SETTLEMENT] and a[SETTLEMENT] == b[SETTLEMENT] else 2) * B_TERR
        elif a[REGION] and b[REGION]:
            code += (3 if a[REGION] == b[REGION] else 4) * B_TERR
    elif a[REGION] and b[REGION]:
        code += (3 if a[REGION] == b[REGION] else 4) * B_TERR
    return code
