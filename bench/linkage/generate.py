"""Deterministic synthetic registers with ground truth for the linkage benchmark.

Two registers of the same synthetic population, as they meet in practice: a
large school roster (LEFT) and a smaller disability / social-protection
register (RIGHT). 80% of the RIGHT persons are on the roster; the rest are
not (the out-of-school children the linkage must *not* mark as enrolled),
and many of those have a sibling or a twin who is.

Noise, per register: missing and mistyped PINs (some typos still valid),
the Russian naming form (Асанов Бакыт Асанович) or the Kyrgyz one (Бакыт
Асан уулу, in the surname or the patronymic field), Latin transliterations
with the variants seen in practice (ж: j/zh/dj, ү: ü/u/y/ue, ...), legacy
letters (у for ү, о or θ for ө, н for ң), Latin lookalikes inside Cyrillic
words, typos, upper case, day/month swaps, near dates, wrong or missing
sex, moves to another district or region, missing settlements.

Nothing here describes a real person. Output: ``left.csv``, ``right.csv``
and ``truth.csv`` (left_id,right_id) in the given directory.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import random
from dataclasses import dataclass
from pathlib import Path

from . import namepool

GENERATOR_VERSION = 6
HEADER = ["id", "pin", "last_name", "first_name", "patronymic", "birth_date", "sex", "region", "district", "settlement"]
VOWELS = set("аеёиоуыэюяөү")


@dataclass(frozen=True)
class Profile:
    """How one register writes people down (rates are per record)."""

    pin_present: float
    pin_typo: float
    latin: float
    legacy_letters: float
    homoglyph: float
    typo: float
    upper: float
    kyrgyz_form: float
    patronymic_present: float
    swap_day_month: float
    near_date: float
    year_off: float
    sex_missing: float
    sex_wrong: float
    moved: float
    settlement_missing: float
    russianized_given: float
    date_format: str  # "iso" | "dmy"


LEFT_PROFILE = Profile(  # school roster: mostly careful, Cyrillic
    pin_present=0.88, pin_typo=0.01, latin=0.02, legacy_letters=0.08, homoglyph=0.01, typo=0.02,
    upper=0.15, kyrgyz_form=0.30, patronymic_present=0.75, swap_day_month=0.005, near_date=0.01,
    year_off=0.002, sex_missing=0.0, sex_wrong=0.002, moved=0.0, settlement_missing=0.03,
    russianized_given=0.05, date_format="iso",
)
RIGHT_PROFILE = Profile(  # disability / social-protection register: older systems, more noise
    pin_present=0.70, pin_typo=0.03, latin=0.15, legacy_letters=0.25, homoglyph=0.03, typo=0.04,
    upper=0.30, kyrgyz_form=0.40, patronymic_present=0.60, swap_day_month=0.025, near_date=0.02,
    year_off=0.005, sex_missing=0.01, sex_wrong=0.003, moved=0.10, settlement_missing=0.10,
    russianized_given=0.15, date_format="dmy",
)

LATIN = {
    "а": ["a"], "б": ["b"], "в": ["v"], "г": ["g"], "д": ["d"], "е": ["e"], "ё": ["yo", "e"],
    "ж": ["j", "zh", "dj"], "з": ["z"], "и": ["i"], "й": ["y", "i"], "к": ["k"], "л": ["l"],
    "м": ["m"], "н": ["n"], "ң": ["ng", "n"], "о": ["o"], "ө": ["ö", "o", "oe"], "п": ["p"], "р": ["r"],
    "с": ["s"], "т": ["t"], "у": ["u"], "ү": ["ü", "u", "y", "ue"], "ф": ["f"], "х": ["kh", "h"],
    "ц": ["ts"], "ч": ["ch"], "ш": ["sh"], "щ": ["shch", "sch"], "ъ": [""], "ы": ["y", "i"],
    "ь": ["", "'"], "э": ["e"], "ю": ["yu", "iu"], "я": ["ya", "ia"],
}
LOOKALIKE = {"а": "a", "о": "o", "е": "e", "с": "c", "р": "p", "х": "x", "у": "y",
             "А": "A", "О": "O", "Е": "E", "С": "C", "Р": "P", "Х": "X", "К": "K", "М": "M", "Т": "T", "Н": "H"}
CYR_LETTERS = "абвгдежзийклмнопрстуфхчшыэюяңөү"
LAT_LETTERS = "abcdefghijklmnoprstuvyz"


def _zipf_weights(n: int, s: float = 1.1, q: float = 8.0) -> list[float]:
    """Zipf-Mandelbrot popularity: the most common name about 3%, a long tail of rare ones."""
    return [1.0 / (i + 1 + q) ** s for i in range(n)]


@dataclass
class Person:
    pid: int
    sex: str  # "F" | "M"
    given: str
    father: str
    family_root: str  # root of the Russian-style surname (the father's or grandfather's name)
    russian: bool
    birth: dt.date
    pin: str
    home: tuple[str, str, str]  # region, district, settlement codes


class Population:
    def __init__(self, rng: random.Random, n_persons: int, reference_year: int = 2026):
        self.rng = rng
        self.ref_year = reference_year
        self._territory()
        self.male_w = _zipf_weights(len(namepool.MALE_GIVEN))
        self.female_w = _zipf_weights(len(namepool.FEMALE_GIVEN))
        self.father_w = _zipf_weights(len(namepool.FATHER_NAMES))
        # the generator's name order is not a popularity order: shuffle it (deterministically)
        for w in (self.male_w, self.female_w, self.father_w):
            rng.shuffle(w)
        self.used_pins: set[str] = set()
        self.persons: list[Person] = []
        self.households: list[list[int]] = []
        while len(self.persons) < n_persons:
            self._household()

    def _territory(self):
        rng = self.rng
        self.settlements = []
        weights = []
        for r in range(9):
            region = f"417{r + 2:02d}"
            for d in range(rng.randint(3, 8)):
                district = f"{region}{200 + d * 3:03d}"
                for s in range(rng.randint(5, 25)):
                    self.settlements.append((region, district, f"{district}{s + 1:03d}"))
                    weights.append(rng.paretovariate(1.5))
        self.settlement_w = list(itertools.accumulate(weights))
        self.by_district: dict[str, list] = {}
        self.by_region: dict[str, list] = {}
        for t in self.settlements:
            self.by_district.setdefault(t[1], []).append(t)
            self.by_region.setdefault(t[0], []).append(t)

    def pick_home(self):
        return self.rng.choices(self.settlements, cum_weights=self.settlement_w)[0]

    def move(self, home):
        """A new address: most moves stay in the district, some in the region, a few go further."""
        rng = self.rng
        x = rng.random()
        if x < 0.5:
            choices = [t for t in self.by_district[home[1]] if t != home]
        elif x < 0.8:
            choices = [t for t in self.by_region[home[0]] if t[1] != home[1]]
        else:
            choices = [t for t in self.settlements if t[0] != home[0]]
        return rng.choice(choices) if choices else self.pick_home()

    def _given(self, sex: str, russian: bool, avoid: str | None = None) -> str:
        rng = self.rng
        while True:
            if russian or rng.random() < 0.04:
                name = rng.choice(namepool.RUSSIAN_FEMALE if sex == "F" else namepool.RUSSIAN_MALE)
            elif sex == "F":
                name = rng.choices(namepool.FEMALE_GIVEN, self.female_w)[0]
            else:
                name = rng.choices(namepool.MALE_GIVEN, self.male_w)[0]
            if name != avoid:
                return name

    def _pin(self, sex: str, birth: dt.date) -> str:
        prefix = ("1" if sex == "F" else "2") + birth.strftime("%d%m%Y")
        while True:
            pin = prefix + f"{self.rng.randrange(100000):05d}"
            if pin not in self.used_pins:
                self.used_pins.add(pin)
                return pin

    def _household(self):
        rng = self.rng
        russian = rng.random() < 0.04
        if russian:
            father = rng.choice(namepool.RUSSIAN_MALE)
            family = rng.choice(namepool.RUSSIAN_SURNAME_ROOTS)
        else:
            father = rng.choices(namepool.FATHER_NAMES, self.father_w)[0]
            family = father if rng.random() < 0.6 else rng.choices(namepool.FATHER_NAMES, self.father_w)[0]
        home = self.pick_home()
        n_children = rng.choices([1, 2, 3, 4, 5], [30, 32, 22, 11, 5])[0]
        first = dt.date(2004, 1, 1) + dt.timedelta(days=rng.randrange(365 * 19))
        birth = first
        members = []
        names_used: set[str] = set()
        for _ in range(n_children):
            if birth.year > self.ref_year - 3:
                break
            twins = 2 if rng.random() < 0.03 else 1
            for _ in range(twins):
                sex = rng.choice("FM")
                given = self._given(sex, russian)
                while given in names_used:
                    given = self._given(sex, russian)
                names_used.add(given)
                p = Person(len(self.persons), sex, given, father, family, russian, birth, self._pin(sex, birth), home)
                self.persons.append(p)
                members.append(p.pid)
            birth = birth + dt.timedelta(days=rng.randint(450, 1600))
        self.households.append(members)


# --- rendering a person in a register -------------------------------------------------------


def _surname(root: str, sex: str) -> str:
    if root.endswith("й"):
        base = root[:-1] + "ев"
    elif root[-1] in VOWELS:
        base = root + "ев"
    elif root.endswith("ев"):
        base = root
    else:
        base = root + "ов"
    return base + ("а" if sex == "F" else "")


def _patronymic(father: str, sex: str) -> str:
    if father.endswith("й"):
        base = father[:-1] + "ев"
    elif father[-1] in VOWELS:
        base = father + "ев"
    else:
        base = father + "ов"
    return base + ("на" if sex == "F" else "ич")


def _legacy(s: str) -> str:
    return s.replace("ү", "у").replace("Ү", "У").replace("ө", "о").replace("Ө", "О").replace("ң", "н").replace("Ң", "Н")


def _russianize(name: str, rng: random.Random) -> str:
    name = _legacy(name)
    if name.endswith("л") and rng.random() < 0.6:
        name += "ь"
    if name.startswith("Ж") and rng.random() < 0.5:
        name = "Дж" + name[1:]
    return name


def _to_latin(s: str, rng: random.Random) -> str:
    choice = {k: rng.randrange(len(v)) for k, v in LATIN.items()}
    drop_double = rng.random() < 0.4
    out = []
    prev = ""
    for ch in s:
        low = ch.lower()
        if low in LATIN:
            if drop_double and low == prev and low in VOWELS:
                continue
            lat = LATIN[low][choice[low]]
            out.append(lat.capitalize() if ch != low else lat)
        else:
            out.append(ch)
        prev = low
    return "".join(out)


def _typo(s: str, rng: random.Random, latin: bool) -> str:
    if len(s) < 3:
        return s
    letters = LAT_LETTERS if latin else CYR_LETTERS
    i = rng.randrange(1, len(s))
    op = rng.randrange(4)
    if op == 0:
        return s[:i] + rng.choice(letters) + s[i + 1:]
    if op == 1:
        return s[:i] + s[i + 1:]
    if op == 2:
        return s[:i] + rng.choice(letters) + s[i:]
    if i < len(s) - 1:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    return s


def _homoglyph(s: str, rng: random.Random) -> str:
    spots = [i for i, c in enumerate(s) if c in LOOKALIKE]
    if not spots:
        return s
    i = rng.choice(spots)
    return s[:i] + LOOKALIKE[s[i]] + s[i + 1:]


def _pin_typo(pin: str, rng: random.Random) -> str:
    i = rng.randrange(len(pin))
    if rng.random() < 0.5 and i < len(pin) - 1 and pin[i] != pin[i + 1]:
        return pin[:i] + pin[i + 1] + pin[i] + pin[i + 2:]
    d = rng.choice([c for c in "0123456789" if c != pin[i]])
    return pin[:i] + d + pin[i + 1:]


def _date_noise(d: dt.date, prof: Profile, rng: random.Random) -> dt.date:
    x = rng.random()
    if x < prof.swap_day_month:
        if d.day <= 12 and d.day != d.month:
            return d.replace(day=d.month, month=d.day)
        return d
    x -= prof.swap_day_month
    if x < prof.near_date:
        for _ in range(5):
            if rng.random() < 0.5:
                cand = d + dt.timedelta(days=rng.choice([-3, -2, -1, 1, 2, 3]))
            else:  # one digit of the day mistyped
                try:
                    cand = d.replace(day=int(f"{d.day:02d}"[0] + str(rng.randrange(10))))
                except ValueError:
                    continue
            if cand != d:
                return cand
        return d
    x -= prof.near_date
    if x < prof.year_off:
        try:
            return d.replace(year=d.year + rng.choice([-1, 1]))
        except ValueError:
            return d
    return d


def render(p: Person, prof: Profile, rng: random.Random, pop: Population, rec_id: str) -> list[str]:
    sex = p.sex
    given = p.given
    if rng.random() < prof.russianized_given:
        given = _russianize(given, rng)
    if p.russian or rng.random() >= prof.kyrgyz_form:
        last = _surname(p.family_root, sex)
        patr = _patronymic(p.father, sex) if rng.random() < prof.patronymic_present else ""
    else:
        kg = f"{p.father} {'кызы' if sex == 'F' else 'уулу'}"
        if rng.random() < 0.5:
            last, patr = kg, ""
        else:
            last, patr = (_surname(p.family_root, sex) if rng.random() < 0.5 else ""), kg
    fields = [last, given, patr]
    latin = rng.random() < prof.latin
    if latin:
        fields = [_to_latin(f, rng) for f in fields]
    else:
        if rng.random() < prof.legacy_letters:
            fields = [_legacy(f) for f in fields]
        elif rng.random() < 0.1:
            fields = [f.replace("ө", "θ") for f in fields]
        if rng.random() < prof.homoglyph:
            k = rng.randrange(3)
            fields[k] = _homoglyph(fields[k], rng)
    for k in range(3):
        if fields[k] and rng.random() < prof.typo:
            fields[k] = _typo(fields[k], rng, latin)
    if rng.random() < prof.upper:
        fields = [f.upper() for f in fields]

    birth = _date_noise(p.birth, prof, rng)
    birth_s = birth.isoformat() if prof.date_format == "iso" else birth.strftime("%d.%m.%Y")

    pin = ""
    if rng.random() < prof.pin_present:
        pin = _pin_typo(p.pin, rng) if rng.random() < prof.pin_typo else p.pin

    sex_s = sex
    r = rng.random()
    if r < prof.sex_missing:
        sex_s = ""
    elif r < prof.sex_missing + prof.sex_wrong:
        sex_s = "M" if sex == "F" else "F"

    region, district, settlement = p.home
    if rng.random() < prof.moved:
        region, district, settlement = pop.move(p.home)
    if rng.random() < prof.settlement_missing:
        settlement = ""
    return [rec_id, pin, fields[0], fields[1], fields[2], birth_s, sex_s, region, district, settlement]


def generate(out_dir: Path, n_left: int, n_right: int, seed: int = 1, overlap: float = 0.8) -> dict:
    """Write left.csv, right.csv, truth.csv into out_dir (reused if already there); return a summary."""
    out_dir = Path(out_dir)
    meta_path = out_dir / "meta.json"
    want = {"version": GENERATOR_VERSION, "n_left": n_left, "n_right": n_right, "seed": seed, "overlap": overlap}
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if all(meta.get(k) == v for k, v in want.items()):
            return meta
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    n_right_in_left = int(n_right * overlap)
    n_right_only = n_right - n_right_in_left
    pop = Population(rng, n_left + n_right_only * 4)
    pids = list(range(len(pop.persons)))
    rng.shuffle(pids)
    left_pids = pids[:n_left]
    pool = pids[n_left:]
    right_pids = rng.sample(left_pids, n_right_in_left) + rng.sample(pool, n_right_only)
    rng.shuffle(right_pids)

    in_left = set(left_pids)
    left_id = {}
    with open(out_dir / "left.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for n, pid in enumerate(left_pids):
            rid = f"S{n + 1:07d}"
            left_id[pid] = rid
            w.writerow(render(pop.persons[pid], LEFT_PROFILE, rng, pop, rid))
    truth = []
    twins_only_in_left = 0
    hh_of = {}
    for h, members in enumerate(pop.households):
        for pid in members:
            hh_of[pid] = h
    with open(out_dir / "right.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for n, pid in enumerate(right_pids):
            rid = f"D{n + 1:06d}"
            w.writerow(render(pop.persons[pid], RIGHT_PROFILE, rng, pop, rid))
            if pid in in_left:
                truth.append((left_id[pid], rid))
            else:
                p = pop.persons[pid]
                siblings = pop.households[hh_of[pid]]
                if any(q != pid and q in in_left and pop.persons[q].birth == p.birth for q in siblings):
                    twins_only_in_left += 1
    with open(out_dir / "truth.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["left_id", "right_id"])
        w.writerows(truth)
    meta = dict(want, true_pairs=len(truth), right_only=n_right - len(truth),
                twin_of_right_only_in_left=twins_only_in_left,
                persons=len(pop.persons), households=len(pop.households))
    meta_path.write_text(json.dumps(meta, indent=1))
    return meta


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys

    print(generate(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
