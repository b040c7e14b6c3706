"""A Fellegi-Sunter model: per-level weights learned from PIN-agreeing pairs.

For each comparison and level, ``m`` is the share of true pairs at that level
and ``u`` the share of random (non-matching) pairs; the level's weight is
``log2(m / u)`` and a pair's score is the posterior probability of a match
given the prior odds and the summed weights.

Training, as measured for this project (docs/linkage.md): ``m`` comes from
pairs that share a valid PIN — true pairs found without looking at the names
or the birth date — so the model learns "same child", not "same family";
``u`` comes from random pairs. The PIN comparison itself cannot be learned
from pairs selected by it; its ``m`` is fixed (:data:`PIN_M`). When there are
too few PIN pairs, the fixed :data:`DEFAULT_M` is used instead. Exact
agreement on a first name, family root or father root is adjusted by how
common the value is (agreeing on a rare name is stronger evidence).
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from .compare import COMPARISONS, N_PATTERNS, NAMES, SIZES, unpack

# Share of true pairs at each PIN level when both sides have a PIN:
# equal / one typo apart / different. Typos are a few percent in the
# registers seen; a genuinely different PIN on a true pair means a changed
# PIN (a legal procedure) or two typos, which is rare.
PIN_M = (0.0, 0.955, 0.04, 0.005)

# The fallback when a batch has too few PIN pairs to learn from (or too few records
# to sample random pairs): the values learned on the 1 M × 100 k benchmark registers
# (47 517 PIN pairs, 60 000 random pairs; noise documented in
# bench/linkage/generate.py), rounded. Re-learn them from real registers when
# there are some: the run statistics (--stats) print m and u.
DEFAULT_M = {
    "first_name": (0.0, 0.943, 0.051, 0.005, 0.002),
    "father": (0.0, 0.952, 0.031, 0.017),
    "family": (0.0, 0.746, 0.038, 0.022, 0.115, 0.079),
    "birth_date": (0.0, 0.953, 0.010, 0.035, 0.001, 0.0001),
    "sex": (0.0, 0.995, 0.005),
    "territory": (0.0, 0.787, 0.164, 0.030, 0.020),
}
DEFAULT_U = {
    "pin": (0.0, 1e-5, 5e-4, 1.0),
    "first_name": (0.0, 0.0048, 0.0006, 0.0115, 0.983),
    "father": (0.0, 0.0096, 0.0037, 0.987),
    "family": (0.0, 0.0069, 0.0032, 0.814, 0.0027, 0.173),
    "birth_date": (0.0, 0.00015, 0.00015, 0.0039, 0.10, 0.89),
    "sex": (0.0, 0.5, 0.5),
    "territory": (0.0, 0.0023, 0.025, 0.094, 0.879),
}
MIN_TRAINING_PAIRS = 200
TF_FIELDS = ("first_name", "father", "family")


def _shares(counts: Counter, n_levels: int, alpha: float, prior: tuple[float, ...] | None = None) -> list[float]:
    """Smoothed share of each level ≥ 1 (level 0, n/a, is left out)."""
    total = sum(counts[lvl] for lvl in range(1, n_levels))
    k = n_levels - 1
    out = [0.0]
    for lvl in range(1, n_levels):
        p0 = prior[lvl] if prior else 1.0 / k
        out.append((counts[lvl] + alpha * p0) / (total + alpha))
    return out


@dataclass
class Model:
    m: dict[str, list[float]]
    u: dict[str, list[float]]
    prior_match: float  # probability that two random records (one per side) are the same person
    tf: dict[str, dict[str, float]] = field(default_factory=dict)  # value -> weight adjustment
    trained_on: int = 0  # PIN pairs used for m (0: fixed model)
    _table: array | None = field(default=None, repr=False)
    _explained: dict = field(default_factory=dict, repr=False)

    @property
    def prior_weight(self) -> float:
        p = min(max(self.prior_match, 1e-15), 0.5)
        return math.log2(p / (1 - p))

    def weight(self, name: str, level: int) -> float:
        if level == 0:
            return 0.0
        return math.log2(self.m[name][level] / self.u[name][level])

    @property
    def table(self) -> array:
        """Summed weight of every pattern, prior included."""
        if self._table is None:
            per = [[self.weight(n, lvl) for lvl in range(size)] for n, size in zip(NAMES, SIZES)]
            t = array("d", [self.prior_weight])
            for levels in per:
                t = array("d", (x + w for w in levels for x in t))
            assert len(t) == N_PATTERNS
            self._table = t
        return self._table

    def explain(self, pattern: int) -> list[tuple[str, str, float]]:
        """(comparison, level label, weight) for each comparison of a pattern."""
        hit = self._explained.get(pattern)
        if hit is None:
            hit = self._explained[pattern] = [(name, COMPARISONS[i][1][lvl], round(self.weight(name, lvl), 2))
                                              for i, (name, lvl) in enumerate(zip(NAMES, unpack(pattern)))]
        return list(hit)

    def as_dict(self) -> dict:
        return {
            "prior_match": self.prior_match,
            "trained_on_pin_pairs": self.trained_on,
            "m": {n: [round(x, 5) for x in v] for n, v in self.m.items()},
            "u": {n: [round(x, 6) for x in v] for n, v in self.u.items()},
            "weights": {n: {COMPARISONS[i][1][lvl]: round(self.weight(n, lvl), 3) for lvl in range(1, SIZES[i])}
                        for i, n in enumerate(NAMES)},
        }


def probability(weight: float) -> float:
    if weight > 60:
        return 1.0
    if weight < -60:
        return 0.0
    return 1.0 / (1.0 + 2.0 ** (-weight))


# u for the PIN levels. Random pairs almost never share a PIN, so u is reasoned, not
# sampled — and it is reasoned *given that the birth dates agree*, because a PIN
# contains the birth date and sex: two different children born the same day have
# PINs that differ only in the 5-digit serial. Equal serials: 1 in 100 000; serials
# one typo apart (45 substitutions + 4 swaps of neighbours): about 1 in 2 000. So an
# equal PIN adds ~16 bits to the birth-date agreement, a PIN one typo away ~6.
PIN_U = (0.0, 1e-5, 5e-4, 1.0 - 1e-5 - 5e-4)


def pin_u(n_left_pins: int = 0) -> tuple[float, ...]:
    return PIN_U


def train(pin_pair_patterns: Iterable[int], random_patterns: Iterable[int], prior_match: float,
          value_counts: dict[str, Counter] | None = None, n_values: int = 0,
          min_pairs: int = MIN_TRAINING_PAIRS, n_left_pins: int = 0) -> Model:
    """A model from the patterns of PIN-agreeing pairs (m) and of random pairs (u)."""
    pin_u_ = pin_u(n_left_pins or n_values)
    m_counts = {n: Counter() for n in NAMES}
    n_pin = 0
    for pattern in pin_pair_patterns:
        n_pin += 1
        for n, lvl in zip(NAMES, unpack(pattern)):
            m_counts[n][lvl] += 1
    u_counts = {n: Counter() for n in NAMES}
    n_rand = 0
    for pattern in random_patterns:
        n_rand += 1
        for n, lvl in zip(NAMES, unpack(pattern)):
            u_counts[n][lvl] += 1

    m, u = {}, {}
    for i, n in enumerate(NAMES):
        size = SIZES[i]
        if n == "pin":
            m[n] = list(PIN_M)
        elif n_pin >= min_pairs:
            m[n] = _shares(m_counts[n], size, alpha=2.0, prior=DEFAULT_M[n])
        else:
            m[n] = list(DEFAULT_M[n])
        if n == "pin":
            u[n] = list(pin_u_)
        elif n_rand >= 1000:
            # A level never seen among random pairs gets at most half an observation.
            u[n] = _shares(u_counts[n], size, alpha=0.5, prior=_normalised(DEFAULT_U[n]))
        else:
            u[n] = list(DEFAULT_U[n])
    model = Model(m=m, u=u, prior_match=prior_match, trained_on=n_pin if n_pin >= min_pairs else 0)
    if value_counts and n_values:
        model.tf = term_adjustments(model, value_counts, n_values)
    return model


def _normalised(values: tuple[float, ...]) -> tuple[float, ...]:
    s = sum(values[1:])
    return (0.0, *[v / s for v in values[1:]])


def term_adjustments(model: Model, value_counts: dict[str, Counter], n_values: int,
                     floor: float = 2e-5) -> dict[str, dict[str, float]]:
    """Extra weight for exact agreement on a value: log2(average u / share of the value).

    A common name agreeing counts for less than the average agreement, a rare
    one for more; values missing from the counts (rarer than any seen) get the
    adjustment of a value seen once. The share is floored so a typo'd unique
    spelling does not outweigh everything else.
    """
    out = {}
    for name in TF_FIELDS:
        counts = value_counts.get(name)
        if not counts:
            continue
        u_avg = model.u[name][1]
        total = max(n_values, 1)
        adj = {}
        for value, c in counts.items():
            share = max(c / total, floor)
            adj[value] = math.log2(u_avg / share)
        adj[""] = math.log2(u_avg / max(1 / total, floor))  # unseen values
        # Damp: the shares are measured on one side only; cap the effect at ±6 bits.
        out[name] = {k: max(-6.0, min(6.0, v)) for k, v in adj.items()}
    return out
