"""The linkage run: exact PIN links, blocking, scoring, one-to-one assignment, review.

``link(left, right)`` links every RIGHT record to at most one LEFT record
(and every LEFT record to at most one RIGHT record):

1. RIGHT (the register being linked in; usually the smaller) is prepared and
   indexed under the blocking keys; LEFT is streamed past the index once, so
   a large register never has to be held in memory.
2. Every candidate pair gets a comparison pattern (:mod:`.compare`).
3. The model is trained (:mod:`.model`): m from pairs sharing a valid PIN,
   u from random pairs, prior odds from how many PIN holders found a partner.
4. A pair whose PINs are equal, valid and agree with both records' birth date
   and sex — and whose names do not contradict — is an **exact** link.
   Otherwise the score decides: at or above ``link_threshold`` a link, from
   ``review_threshold`` a **review** pair for a person to decide. Some pairs
   never link automatically, whatever the score: two valid but different
   PINs, different first names or different sex without an equal PIN (the
   twin and sibling signature), and a best candidate with a rival almost as
   good (namesakes).
5. Links are assigned greedily by weight, exact links first.
"""

from __future__ import annotations

import gc
import math
import multiprocessing
import os
import random
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from . import blocking
from .compare import (
    B_FAMILY, B_FATHER, B_GIVEN, B_SEX, GIVEN_SIMILAR, PIN_DIFFERENT, PIN_EQUAL, SEX_DIFFERENT, SIZES, compare,
)
from .model import Model, probability, train
from .records import (
    FAMILY, FATHER, FIELDS, GIVEN, ID, PIN_CONSISTENT, PIN_OK, PIN_VALID, WIDTH, RecordError, prepare_mapping,
)

Progress = Callable[[str, int, int | None], None]
# Fewer distinct LEFT×RIGHT combinations than this and u is not sampled (the fixed u is used).
MIN_RANDOM_SPACE = 50_000


class LinkInputError(ValueError):
    """Records that cannot be linked, with where (``line`` or position) and why."""

    def __init__(self, problems: list[tuple[int, str, str]], side: str = ""):
        self.problems = problems  # (line or position, field, code)
        self.side = side
        first = "; ".join(f"{n}: {f} {c}" for n, f, c in problems[:5])
        super().__init__(f"{side + ': ' if side else ''}{len(problems)} bad value(s) — {first}")

    def __reduce__(self):
        return (LinkInputError, (self.problems, self.side))


@dataclass
class LinkConfig:
    link_threshold: float = 0.9  # match probability from which a pair links automatically
    review_threshold: float = 0.3  # ... from which it goes to clerical review
    ambiguity_bits: float = 4.0  # a rival candidate within this many bits of the best → review
    random_pairs: int = 60_000  # random pairs for the u probabilities
    sample_left: int = 3000  # LEFT records kept for random pairs
    review_per_record: int = 3
    seed: int = 20260601
    model: Model | None = None  # a fixed model instead of training
    workers: int = 1  # processes scanning LEFT (0: one per core, at most 4); needs a splittable LEFT
    progress_every: int = 50_000
    dedupe: bool = False  # LEFT and RIGHT are one register: a record is never compared with itself

    def __post_init__(self):
        if not 0 < self.review_threshold <= self.link_threshold <= 1:
            raise ValueError("Thresholds must satisfy 0 < review_threshold <= link_threshold <= 1.")


@dataclass
class PairScore:
    left_id: str
    right_id: str
    score: float  # match probability
    weight: float  # log2 odds
    method: str  # "pin" | "probabilistic"
    status: str  # "link" | "review"
    reason: str = ""  # why a high-scoring pair was sent to review
    fields: list[tuple[str, str, float]] = field(default_factory=list)  # (comparison, level, weight)

    @property
    def field_scores(self) -> dict[str, float]:
        return {name: w for name, _, w in self.fields}


@dataclass
class LinkResult:
    links: list[PairScore]
    review: list[PairScore]
    model: Model
    stats: dict


def _as_prepared(records, side: str, start: int = 1) -> Iterable[tuple]:
    """Prepared tuples from prepared tuples, mappings, named tuples or a DataFrame."""
    if getattr(records, "yields_prepared", False):  # a RegisterFile or a part of one
        return iter(records)
    return _convert(records, side, start)


def _convert(records, side: str, start: int) -> Iterable[tuple]:
    if hasattr(records, "to_dict") and hasattr(records, "columns"):  # pandas / polars-like frame
        missing = set(FIELDS) - set(map(str, records.columns))
        if missing:
            raise LinkInputError([(0, ", ".join(sorted(missing)), "missing column")], side)
        records = records.to_dict("records")
    problems = []
    for n, rec in enumerate(records, start=start):
        if isinstance(rec, tuple) and not hasattr(rec, "_asdict") and len(rec) == WIDTH:
            yield rec
            continue
        if not isinstance(rec, Mapping):
            rec = rec._asdict() if hasattr(rec, "_asdict") else dict(zip(FIELDS, rec))
        try:
            yield prepare_mapping(rec)
        except RecordError as err:
            problems.append((n, err.field, err.code))
            if len(problems) >= 100:
                break
    if problems:
        raise LinkInputError(problems, side)


class _Progress:
    def __init__(self, callback: Progress | None):
        self.callback = callback

    def __call__(self, stage: str, done: int, total: int | None = None):
        if self.callback:
            self.callback(stage, done, total)


def _names_agree(pattern: int) -> bool:
    """First name, father or family name at least one typo apart (not contradicting a PIN link)."""
    g = (pattern // B_GIVEN) % SIZES[1]
    f = (pattern // B_FATHER) % SIZES[2]
    s = (pattern // B_FAMILY) % SIZES[3]
    return g in (1, 2) or f in (1, 2) or s in (1, 2, 4)


@dataclass
class _Scan:
    """What one pass over (a part of) LEFT found."""

    left_ids: list = field(default_factory=list)
    left_pin_ok: bytearray = field(default_factory=bytearray)
    p_left: array = field(default_factory=lambda: array("l"))
    p_right: array = field(default_factory=lambda: array("l"))
    p_pattern: array = field(default_factory=lambda: array("l"))
    counts: dict = field(default_factory=lambda: {n: Counter() for n in ("first_name", "father", "family")})
    sample: list = field(default_factory=list)
    seen: int = 0  # records considered for the sample
    n_left: int = 0
    n_left_valid_pin: int = 0
    candidates: int = 0
    cpu: list = field(default_factory=list)  # CPU seconds of each scanning process

    def merge(self, other: "_Scan", rng: random.Random, sample_size: int) -> None:
        offset = len(self.left_ids)
        self.left_ids.extend(other.left_ids)
        self.left_pin_ok.extend(other.left_pin_ok)
        self.p_left.extend(x + offset for x in other.p_left)
        self.p_right.extend(other.p_right)
        self.p_pattern.extend(other.p_pattern)
        for n, c in other.counts.items():
            self.counts[n].update(c)
        pool = self.sample + other.sample
        rng.shuffle(pool)
        self.sample = pool[:sample_size]
        self.n_left += other.n_left
        self.n_left_valid_pin += other.n_left_valid_pin
        self.candidates += other.candidates
        self.cpu.extend(other.cpu)


def _scan(records: Iterable[tuple], right_recs: list[tuple], index: dict, cfg: "LinkConfig", seed: int,
          say: "_Progress", scale: int = 1, total: int | None = None) -> _Scan:
    """Stream LEFT records past the RIGHT index; compare every candidate pair."""
    cpu0 = time.process_time()
    out = _Scan()
    rng = random.Random(seed)
    c_given, c_father, c_family = out.counts["first_name"], out.counts["father"], out.counts["family"]
    left_ids, left_pin_ok = out.left_ids, out.left_pin_ok
    p_left, p_right, p_pattern = out.p_left, out.p_right, out.p_pattern
    sample, sample_size = out.sample, cfg.sample_left
    get = index.get
    rand = rng.random
    probe = blocking.probe_keys
    every = cfg.progress_every
    dedupe = cfg.dedupe
    n = valid = candidates = 0
    for rec in records:
        n += 1
        c_given[rec[GIVEN]] += 1
        if rec[FATHER]:
            c_father[rec[FATHER]] += 1
        if rec[FAMILY]:
            c_family[rec[FAMILY]] += 1
        if rec[PIN_OK] >= PIN_VALID:
            valid += 1
        if len(sample) < sample_size:
            sample.append(rec)
        elif rand() * n < sample_size:  # reservoir sampling
            sample[int(rand() * sample_size)] = rec
        found = None
        for key in probe(rec):
            hit = get(key)
            if hit:
                if found is None:
                    found = set(hit)
                else:
                    found.update(hit)
        if found and dedupe:
            found = {j for j in found if right_recs[j][ID] != rec[ID]}
        if found:
            pos = len(left_ids)
            left_ids.append(rec[ID])
            left_pin_ok.append(rec[PIN_OK])
            for j in found:
                p_left.append(pos)
                p_right.append(j)
                p_pattern.append(compare(rec, right_recs[j]))
            candidates += len(found)
        if n % every == 0:
            say("compare", n * scale, total)
    out.n_left, out.n_left_valid_pin, out.candidates = n, valid, candidates
    out.cpu.append(round(time.process_time() - cpu0, 2))
    return out


# State shared with forked workers (set just before the pool starts).
_SHARED: dict = {}


def _scan_part(i: int) -> _Scan:
    gc.disable()
    sh = _SHARED
    say = sh["say"] if i == 0 else _Progress(None)
    return _scan(sh["parts"][i], sh["right"], sh["index"], sh["cfg"], sh["cfg"].seed + i, say,
                 scale=len(sh["parts"]), total=sh["total"])


def _split(left, workers: int):
    """Independent parts of LEFT for parallel workers, or None if LEFT cannot be split."""
    if workers <= 1:
        return None
    if hasattr(left, "split"):
        return left.split(workers)
    if isinstance(left, list) and len(left) >= 10_000:
        step = -(-len(left) // workers)
        return [_as_prepared(left[i:i + step], "left", start=i + 1) for i in range(0, len(left), step)]
    return None


def link(left: Iterable, right: Iterable, config: LinkConfig | None = None,
         progress: Progress | None = None, right_total: int | None = None,
         left_total: int | None = None) -> LinkResult:
    """Link RIGHT records to LEFT records; see the module docstring for the method.

    ``left`` and ``right``: iterables of mappings (or named tuples, or a
    DataFrame) with the :data:`~.records.FIELDS` keys, or of prepared tuples;
    a :class:`~.io.RegisterFile` or a list as ``left`` can be scanned by
    several processes (``config.workers``). ``progress(stage, done, total)``
    is called now and then (stages: index, compare, train, assign, done).
    """
    cfg = config or LinkConfig()
    gc_was = gc.isenabled()
    gc.disable()  # millions of small tuples: the cyclic collector only costs time here
    try:
        return _link(left, right, cfg, _Progress(progress), right_total, left_total)
    finally:
        if gc_was:
            gc.enable()


def _link(left, right, cfg: "LinkConfig", say: "_Progress", right_total, left_total) -> LinkResult:
    t0 = time.perf_counter()
    c0 = time.process_time()
    rng = random.Random(cfg.seed)

    # 1. RIGHT: prepare and index
    right_recs: list[tuple] = []
    index: dict[str, list[int]] = {}
    for rec in _as_prepared(right, "right"):
        j = len(right_recs)
        right_recs.append(rec)
        for key in blocking.index_keys(rec):
            bucket = index.get(key)
            if bucket is None:
                index[key] = [j]
            else:
                bucket.append(j)
        if j and j % cfg.progress_every == 0:
            say("index", j, right_total)
    n_right = len(right_recs)
    say("index", n_right, n_right)
    t_index = time.perf_counter() - t0

    # 2. LEFT: stream, block, compare (in parallel when LEFT can be split)
    workers = cfg.workers or min(os.cpu_count() or 1, 4)
    parts = _split(left, workers) if right_recs else None
    if parts and len(parts) > 1:
        _SHARED.update(parts=parts, right=right_recs, index=index, cfg=cfg, say=say, total=left_total)
        try:
            with multiprocessing.get_context("fork").Pool(len(parts)) as pool:
                results = pool.map(_scan_part, range(len(parts)), chunksize=1)
        finally:
            _SHARED.clear()
        scan = results[0]
        for other in results[1:]:
            scan.merge(other, rng, cfg.sample_left)
    else:
        scan = _scan(_as_prepared(left, "left"), right_recs, index, cfg, cfg.seed, say, total=left_total)
    n_left = scan.n_left
    say("compare", n_left, n_left)
    left_ids, left_pin_ok = scan.left_ids, scan.left_pin_ok
    p_left, p_right, p_pattern = scan.p_left, scan.p_right, scan.p_pattern
    counts, sample = scan.counts, scan.sample
    n_left_valid_pin, candidates = scan.n_left_valid_pin, scan.candidates
    t_compare = time.perf_counter() - t0 - t_index

    # 3. Model
    model = cfg.model
    pin_pairs = []
    right_with_pin_partner = set()
    for k in range(len(p_pattern)):
        pat = p_pattern[k]
        if (pat % SIZES[0] == PIN_EQUAL and left_pin_ok[p_left[k]] >= PIN_VALID
                and right_recs[p_right[k]][PIN_OK] >= PIN_VALID):
            pin_pairs.append(pat)
            right_with_pin_partner.add(p_right[k])
    right_valid_pin = sum(1 for r in right_recs if r[PIN_OK] >= PIN_VALID)
    if model is None:
        if len(sample) * len(right_recs) >= MIN_RANDOM_SPACE:
            randoms = (compare(rng.choice(sample), rng.choice(right_recs)) for _ in range(cfg.random_pairs))
        else:
            randoms = iter(())
        prior = _prior(len(right_with_pin_partner), right_valid_pin, n_left_valid_pin, n_left)
        model = train(pin_pairs, randoms, prior, counts, n_left, n_left_pins=n_left_valid_pin)
    say("train", 1, 1)
    t_train = time.perf_counter() - t0 - t_index - t_compare

    # 4. Score and classify
    table = model.table
    tf = model.tf
    tf_given, tf_father, tf_family = (tf.get(n, {}) for n in ("first_name", "father", "family"))
    floor_weight = math.log2(cfg.review_threshold / (1 - cfg.review_threshold)) if cfg.review_threshold < 1 else 0
    link_weight = math.log2(cfg.link_threshold / (1 - cfg.link_threshold)) if cfg.link_threshold < 1 else 60.0
    exact: list[tuple[float, int, int, int]] = []  # (weight, left pos, right idx, pattern)
    scored: list[tuple[float, int, int, int, str]] = []  # (weight, lpos, ridx, pattern, cap reason)
    n_size = SIZES
    # A pattern whose best case (every name bonus at its maximum) stays under the review
    # floor is dropped with one lookup, unless it is a PIN-equal pair (a possible exact link).
    # (a negative adjustment applies only when the names agree, so never count one below zero here)
    tf_max = sum(max(0.0, max(d.values(), default=0.0)) for d in (tf_given, tf_father, tf_family))
    hopeless = bytes(1 if (w + tf_max < floor_weight and pat % n_size[0] != PIN_EQUAL) else 0
                     for pat, w in enumerate(table))
    for k in range(len(p_pattern)):
        pat = p_pattern[k]
        if hopeless[pat]:
            continue
        r = right_recs[p_right[k]]
        w = table[pat]
        g = (pat // B_GIVEN) % n_size[1]
        if g == 1:
            w += tf_given.get(r[GIVEN], tf_given.get("", 0.0))
        if (pat // B_FATHER) % n_size[2] == 1:
            w += tf_father.get(r[FATHER], tf_father.get("", 0.0))
        if (pat // B_FAMILY) % n_size[3] == 1:
            w += tf_family.get(r[FAMILY], tf_family.get("", 0.0))
        pin_level = pat % n_size[0]
        lpos = p_left[k]
        if (pin_level == PIN_EQUAL and left_pin_ok[lpos] == PIN_CONSISTENT and r[PIN_OK] == PIN_CONSISTENT
                and _names_agree(pat)):
            exact.append((w, lpos, p_right[k], pat))
            continue
        if w < floor_weight:
            continue
        reason = ""
        if pin_level != PIN_EQUAL:
            if pin_level == PIN_DIFFERENT:
                reason = "different valid PINs"
            elif g >= GIVEN_SIMILAR:
                reason = "different first names"
            elif g != 1 and (pat // B_SEX) % n_size[5] == SEX_DIFFERENT:
                reason = "different sex"
        scored.append((w, lpos, p_right[k], pat, reason))
    del p_left, p_right, p_pattern

    # 5. Assign one-to-one
    left_taken: set[int] = set()
    right_taken: set[int] = set()
    links: list[PairScore] = []

    def pair(w, lpos, ridx, pat, method, status, reason=""):
        return PairScore(left_ids[lpos], right_recs[ridx][ID], round(probability(w), 6), round(w, 3), method, status,
                         reason, model.explain(pat))

    for w, lpos, ridx, pat in sorted(exact, key=lambda x: (-x[0], x[1], x[2])):
        if lpos in left_taken or ridx in right_taken:
            continue
        left_taken.add(lpos)
        right_taken.add(ridx)
        links.append(pair(w, lpos, ridx, pat, "pin", "link"))
    n_exact = len(links)
    exact_left = set(left_taken)

    by_right: dict[int, list] = {}
    for item in scored:
        if item[1] not in left_taken and item[2] not in right_taken:
            by_right.setdefault(item[2], []).append(item)
    held: dict[int, str] = {}
    for ridx, items in by_right.items():
        items.sort(key=lambda x: (-x[0], x[1]))
        best = items[0]
        if best[0] >= link_weight and not best[4] and len(items) > 1:
            rival = next((x for x in items[1:] if not x[4]), None)
            if rival is not None and rival[0] >= best[0] - cfg.ambiguity_bits and rival[0] >= floor_weight:
                held[ridx] = "a rival candidate scores almost as high"
    ordered = sorted((x for items in by_right.values() for x in items if x[0] >= link_weight and not x[4]),
                     key=lambda x: (-x[0], x[1], x[2]))
    for w, lpos, ridx, pat, _ in ordered:
        if lpos in left_taken or ridx in right_taken or ridx in held:
            continue
        left_taken.add(lpos)
        right_taken.add(ridx)
        links.append(pair(w, lpos, ridx, pat, "probabilistic", "link"))

    review: list[PairScore] = []
    for ridx, items in by_right.items():
        if ridx in right_taken:
            continue
        n = 0
        for w, lpos, _, pat, reason in items:
            if lpos in exact_left:  # that LEFT record is someone else, by PIN
                continue
            reason = reason or held.get(ridx, "") or ("left record linked to another" if lpos in left_taken else "")
            review.append(pair(w, lpos, ridx, pat, "probabilistic", "review", reason))
            n += 1
            if n >= cfg.review_per_record:
                break

    t_assign = time.perf_counter() - t0 - t_index - t_compare - t_train
    # CPU of the serial parts (this process) and of each scanning worker; their sum along
    # the critical path is what a run takes on an otherwise idle machine.
    serial = time.process_time() - c0  # this process: everything but the workers' scans
    workers_cpu = scan.cpu if parts and len(parts) > 1 else []
    cpu = {"serial": round(serial, 2), "workers": workers_cpu,
           "critical_path": round(serial + (max(workers_cpu) if workers_cpu else 0.0), 2)}
    stats = {
        "left_records": n_left, "right_records": n_right, "candidate_pairs": candidates,
        "pin_training_pairs": len(pin_pairs), "exact_links": n_exact, "probabilistic_links": len(links) - n_exact,
        "review_pairs": len(review), "review_records": len({p.right_id for p in review}),
        "seconds": {"index": round(t_index, 2), "compare": round(t_compare, 2), "train": round(t_train, 2),
                    "assign": round(t_assign, 2), "total": round(time.perf_counter() - t0, 2)},
        "cpu_seconds": cpu,
        "model": model.as_dict(),
    }
    say("done", 1, 1)
    return LinkResult(links=links, review=review, model=model, stats=stats)


def _prior(right_linked_by_pin: int, right_valid_pin: int, left_valid_pin: int, n_left: int) -> float:
    """Probability that a random LEFT×RIGHT pair is a match, from how many PIN holders found a partner.

    Of RIGHT records with a valid PIN, the share that found a LEFT partner with
    the same PIN is (share of RIGHT persons present in LEFT) × (share of LEFT
    records with a valid PIN) × (share of PINs written without a typo); solve
    for the first, and a RIGHT person is in LEFT with that probability, among
    ``n_left`` records.
    """
    if n_left == 0:
        return 1e-9
    present = 0.5
    if right_valid_pin >= 50 and left_valid_pin:
        q = left_valid_pin / n_left
        present = min(0.99, max(0.01, right_linked_by_pin / right_valid_pin / (q * 0.955)))
    return present / n_left
