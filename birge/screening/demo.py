"""Synthetic functioning screenings for ``birge demo``.

Runs after ``birge/learners/demo.py`` and reads its learners in bulk (no query per learner): about
4% of children of two and over have a screening, and about half of those with a disability status;
the questionnaire follows the age on the interview date (CFM 2-4, CFM 5-17, WG-SS), answers are
drawn per question (children with a disability status have one or two areas of real difficulty),
follow the questionnaire's skips (``engine.clean_answers``) and are scored by the engine, so the
stored results are exactly what the pages and the API would compute. Most are complete, some are
drafts, a few withdrawn. ``demo-parent``'s children have a screening each, recorded at the demo
school: the older one with difficulty (he has a referral), the younger one without. Deterministic
from the seed; rows are written with ``bulk_create``.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db.models.functions import Mod
from django.utils import timezone

from birge.core.demo import weighted
from birge.core.roles import Role
from birge.learners.models import DisabilityStatus, Enrolment, GuardianLink, Learner

from . import engine
from .models import Respondent, Screening, Status
from .services import fingerprint

BATCH = 2000
SCREENING_RATE = 0.04
DISABLED_RATE = 0.5
STATES = [(Status.COMPLETE, 92), (Status.DRAFT, 5), (Status.WITHDRAWN, 3)]
# Answer weights for a child without a particular difficulty, and in an area of difficulty.
TYPICAL = {"no_difficulty": 880, "some_difficulty": 95, "a_lot_of_difficulty": 18, "cannot_do_at_all": 4,
           "not_at_all": 50, "same_or_less": 35, "more": 12, "a_lot_more": 3,
           "never": 50, "few_times_a_year": 28, "monthly": 10, "weekly": 8, "daily": 4, "dont_know": 3}
AFFECTED = {"no_difficulty": 5, "some_difficulty": 25, "a_lot_of_difficulty": 50, "cannot_do_at_all": 20,
            "a_lot_more": 60, "more": 30, "not_at_all": 10, "daily": 55, "weekly": 35, "never": 10}
# Gates: glasses, hearing aid, walking equipment (share answering "yes"), typical and with a disability status.
GATES = {"CF1": (0.05, 0.15), "CF4": (0.01, 0.08), "CF7": (0.01, 0.12)}
NAMES = ["Айпери Асан кызы", "Гүлмира Токтосунова", "Бурул Жумабаева", "Светлана Ким", "Нурлан Осмонов", "Жылдыз Абдыкадырова"]
CALM = ("no", "no_difficulty", "never", "not_at_all", "some_difficulty")  # the first allowed: no difficulty anywhere
WITHDRAW_REASONS = ["Башка баланын ордуна жазылып калган.", "Неверная дата интервью; анкета заполнена повторно."]


def answers_for(rng, instrument: engine.Instrument, disabled: bool) -> dict:
    """Plausible answers to every question, then only those the skips show (a real interview's)."""
    domains = [d.code for d in instrument.domains]
    affected = set(rng.sample(domains, rng.choice((1, 1, 2)))) if disabled else set()
    raw = {}
    for item in instrument.items:
        if item.code in GATES and instrument.code.startswith("cfm"):
            share = GATES[item.code][1 if disabled else 0]
            raw[item.code] = "yes" if rng.random() < share else "no"
            continue
        weights = AFFECTED if item.domain in affected else TYPICAL
        pairs = [(code, weights.get(code, 1)) for code in (o.code for o in item.options) if code != "refused"]
        raw[item.code] = weighted(rng, pairs)
    return engine.clean_answers(instrument, raw)


def generate(ctx):
    if Screening.objects.filter(is_synthetic=True).exists():
        ctx.progress("screening: demo screenings exist; kept")
        return
    if not Learner.objects.filter(is_synthetic=True).exists():
        ctx.progress("screening: no demo learners; skipped")
        return
    rng = random.Random(f"{ctx.seed}-screening")
    builder = _Builder(ctx, rng)
    featured = builder.featured()
    builder.sample(exclude=featured)
    builder.write()
    ctx.progress("screening: " + ", ".join(f"{k} {v:,}" for k, v in sorted(builder.counts.items())))


class _Builder:
    def __init__(self, ctx, rng):
        self.ctx, self.rng = ctx, rng
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.rows: list[Screening] = []
        self.counts: dict[str, int] = {}
        self.instruments = {i.code: i for i in engine.all_instruments()}
        self.hashes = {code: fingerprint(i) for code, i in self.instruments.items()}

    def _count(self, key):
        self.counts[key] = self.counts.get(key, 0) + 1

    def _sample(self, qs, want: int) -> list[int]:
        total = qs.count()
        if total == 0 or want <= 0:
            return []
        step = max(1, total // want)
        offset = self.rng.randrange(step)
        return list(qs.annotate(m=Mod("pk", step)).filter(m=offset).order_by("pk").values_list("pk", flat=True)[:want])

    def _screening(self, *, learner_id, birth, disabled, guardian_id, org_id, interview_date=None, state=None,
                   recorded_by=None, answers=None, respondent=None):
        interview_date = interview_date or self.today - dt.timedelta(days=self.rng.randint(7, 720))
        if interview_date < birth:
            return None
        age = engine.completed_years(birth, interview_date)
        instrument = engine.instrument_for_age(age)
        if instrument is None:
            return None
        state = state or weighted(self.rng, STATES)
        answers = answers if answers is not None else answers_for(self.rng, instrument, disabled)
        if respondent is not None:
            pass
        elif instrument.respondent == "self":
            respondent = Respondent.SELF if self.rng.random() < 0.85 else Respondent.PARENT
        else:
            respondent = Respondent.PARENT if guardian_id and self.rng.random() < 0.85 else Respondent.CARER
        guardian = guardian_id if respondent == Respondent.PARENT else None
        screening = Screening(
            learner_id=learner_id, instrument=instrument.code, instrument_version=instrument.version[:300],
            instrument_hash=self.hashes[instrument.code], interview_date=interview_date, age_years=age,
            respondent=respondent, respondent_guardian_id=guardian,
            respondent_name="" if respondent == Respondent.SELF or guardian else self.rng.choice(NAMES),
            organization_id=org_id, recorded_by=recorded_by, is_synthetic=True,
            created_at=timezone.make_aware(dt.datetime.combine(interview_date, dt.time(9 + self.rng.randint(0, 7)))),
        )
        if state == Status.DRAFT:
            keep = max(1, len(answers) // 2)
            screening.answers = dict(list(answers.items())[:keep])
            screening.status = Status.DRAFT
        else:
            result = engine.score(instrument, answers)
            screening.answers = dict(result.answers)
            screening.domains = dict(result.domains)
            screening.functional_difficulty = result.functional_difficulty
            screening.domain_count = result.domain_count
            for name in ("disability_1", "disability_2", "disability_3", "disability_4"):
                setattr(screening, name, getattr(result, name))
            screening.missing = list(result.missing)
            screening.status = Status.COMPLETE
            screening.completed_at = screening.created_at + dt.timedelta(minutes=self.rng.randint(15, 50))
            if state == Status.WITHDRAWN:
                screening.status = Status.WITHDRAWN
                screening.withdrawn_at = screening.completed_at + dt.timedelta(days=self.rng.randint(1, 20))
                screening.withdraw_reason = self.rng.choice(WITHDRAW_REASONS)
        self.rows.append(screening)
        self._count(f"{screening.instrument} {screening.status}")
        return screening

    def featured(self) -> set[int]:
        """demo-parent's children: the older (with a disability status) with difficulty, the younger without."""
        parent = self.ctx.users.get(Role.PARENT.value)
        coordinator = self.ctx.users.get(Role.SCHOOL_COORDINATOR.value)
        if parent is None or coordinator is None:
            return set()
        membership = coordinator.memberships.select_related("organization").first()
        school_id = membership.organization_id if membership else None
        links = list(GuardianLink.objects.filter(guardian__user=parent, ends_on__isnull=True).select_related("learner")
                     .order_by("learner__birth_date"))
        done = set()
        for i, link in enumerate(links[:2]):
            learner = link.learner
            day = self.today - dt.timedelta(days=40 + 30 * i)
            instrument = engine.instrument_for_age(engine.completed_years(learner.birth_date, day))
            if instrument is None:
                continue
            answers = {item.code: next(v for v in CALM if v in item.values) for item in instrument.items}
            if i == 0:  # learning and concentrating: the reasons of his referral
                for code in ("CF17", "CF19") if instrument.code == "cfm-5-17" else ("CF14",):
                    answers[code] = "a_lot_of_difficulty"
            answers = engine.clean_answers(instrument, answers)
            if self._screening(learner_id=learner.pk, birth=learner.birth_date, disabled=i == 0, guardian_id=link.guardian_id,
                               org_id=school_id, interview_date=day, state=Status.COMPLETE, recorded_by=coordinator,
                               answers=answers, respondent=Respondent.PARENT):
                done.add(learner.pk)
                self._count("demo-parent's children")
        return done

    def sample(self, exclude: set[int]):
        two_years_ago = self.today - dt.timedelta(days=2 * 366)
        eligible = Learner.objects.filter(is_synthetic=True, archived_at__isnull=True, birth_date__lte=two_years_ago)
        total = eligible.count()
        disabled_ids = set(DisabilityStatus.objects.filter(learner__in=eligible).values_list("learner_id", flat=True))
        picked = set(self._sample(eligible, round(total * SCREENING_RATE)))
        picked |= {pk for pk in sorted(disabled_ids) if self.rng.random() < DISABLED_RATE}
        ids = sorted(picked - exclude)
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            births = dict(Learner.objects.filter(pk__in=chunk).values_list("pk", "birth_date"))
            orgs = {}
            for learner_id, org_id in Enrolment.objects.filter(learner_id__in=chunk, status=Enrolment.Status.ACTIVE).order_by(
                    "starts_on", "pk").values_list("learner_id", "organization_id"):
                orgs.setdefault(learner_id, org_id)
            guardians = {}
            for learner_id, guardian_id in GuardianLink.objects.filter(
                    learner_id__in=chunk, is_legal_representative=True, ends_on__isnull=True).order_by("pk").values_list(
                    "learner_id", "guardian_id"):
                guardians.setdefault(learner_id, guardian_id)
            for pk in chunk:
                self._screening(learner_id=pk, birth=births[pk], disabled=pk in disabled_ids, guardian_id=guardians.get(pk),
                                org_id=orgs.get(pk))

    def write(self):
        Screening.objects.bulk_create(self.rows, batch_size=BATCH)
