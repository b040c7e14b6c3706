"""Synthetic referrals and early-identification concerns for ``birge demo``.

Runs after ``birge/learners/demo.py`` and reads its learners in bulk (no query per learner):
about 1.5% of children (most of them with a disability status) have a referral to the PMPK of
their district, in every state with realistic dates, some of them overdue; about 3% of children
under four have a developmental concern that opened an early-intervention referral. Referrals
past acceptance have the parents' consent to the assessment. ``demo-parent``'s child has a
scheduled referral with its history, and the demo PMPK has a queue. Deterministic from the seed;
rows are written with ``bulk_create``.
"""

from __future__ import annotations

import datetime as dt
import random

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models.functions import Mod
from django.utils import timezone, translation

from birge.core import audit
from birge.core.deadline_models import Clock, Deadline, Notification
from birge.core.demo import weighted
from birge.core.models import AuditEvent, Organization, Territory
from birge.core.roles import EDUCATION_KINDS, OrgKind, Role
from birge.learners.models import Consent, DisabilityStatus, Enrolment, GuardianLink, Learner

from .models import Concern, Observation, Referral, State
from .services import MESSAGES

BATCH = 2000
REFERRAL_RATE = 0.015
CONCERN_RATE = 0.03
# Share of each state among PMPK referrals (every state occurs).
STATES = [(State.DRAFT, 7), (State.SUBMITTED, 14), (State.ACCEPTED, 14), (State.SCHEDULED, 14), (State.ASSESSED, 9),
          (State.CONCLUDED, 30), (State.WITHDRAWN, 6), (State.DECLINED, 6)]
EARLY_STATES = [(State.SUBMITTED, 30), (State.ACCEPTED, 25), (State.SCHEDULED, 15), (State.CONCLUDED, 25), (State.WITHDRAWN, 5)]
REASONS = [
    "Сабакта берилген тапшырманы түшүнбөйт, окууда артта калып жатат.",
    "Сүйлөөсү түшүнүксүз, сөздөрдү толук айтпайт; классташтары менен аз сүйлөшөт.",
    "Плохо видит с доски, быстро устаёт при чтении и письме.",
    "Не удерживает внимание на уроке дольше нескольких минут, часто выходит из класса.",
    "Оор угат, мугалимдин түшүндүрмөсүн кайра сурайт.",
    "Трудности с письмом и счётом, несмотря на дополнительные занятия.",
    "Басканда тең салмактуулугун жоготот, тепкичтен жардамсыз чыга албайт.",
]
TRIED = [
    "Кошумча сабактар жумасына эки жолу, үй-бүлө менен маек.",
    "Пересадили на первую парту, индивидуальные задания, консультация психолога школы.",
    "Логопед менен үч ай иштешти, жакшыруу аз.",
    "",
]
OBSERVATIONS = {
    "learning": ["Окуу тапшырмаларын кайталап түшүндүрүү керек.", "Читает по слогам, смысл прочитанного пересказывает с трудом."],
    "communication": ["Суроолорго бир сөз менен жооп берет.", "Редко вступает в разговор, отвечает жестами."],
    "concentrating": ["Беш мүнөттөн ашык бир ишке көңүл бура албайт.", "Отвлекается на шум, часто встаёт с места."],
    "seeing": ["Китепти көзүнө жакын кармайт.", "Щурится, переписывая с доски."],
    "walking": ["Узак аралыкка басканда тез чарчайт.", "На перемене держится за перила, избегает лестниц."],
}
STRENGTHS = ["Сүрөт тартканды жакшы көрөт.", "Хорошо запоминает песни и стихи.", "Классташтарына жардам берет.", ""]
EARLY_NOTICED = [
    {"walking": "Эки жашта колдоосуз баса албайт.", "speech-language": "Эки-үч гана сөз айтат."},
    {"hearing": "На своё имя и громкие звуки не оборачивается."},
    {"communication": "Көзгө карабайт, атын айтканда жооп бербейт.", "playing": "Оюнчуктар менен бир гана жол менен ойнойт."},
    {"seeing": "Не следит глазами за игрушкой."},
    {"fine-motor": "Кашыкты кармай албайт.", "self-care": "Өзү тамактана албайт."},
]
DECLINE_REASONS = ["Бала башка райондо жашайт: өз районунун ПМПКсына кайрылуу керек.",
                   "Документы неполные: нет заключения врача; направьте повторно."]
WITHDRAW_REASONS = ["Үй-бүлө башка шаарга көчүп кетти.", "Родители отозвали согласие на обследование."]


def _at(day: dt.datetime, rng, lo: int, hi: int) -> dt.datetime:
    return day + dt.timedelta(days=rng.randint(lo, hi), hours=rng.randint(0, 6), minutes=rng.choice((0, 15, 30, 45)))


class _Places:
    """District of each territory, and the PMPK / early-intervention service / health facility of each district."""

    def __init__(self, ctx, territory_ids):
        self.ctx = ctx
        self.district = {}
        for pk, district_id, level in Territory.objects.filter(pk__in=territory_ids).values_list("pk", "district_id", "level"):
            self.district[pk] = pk if level in Territory.DISTRICT_LEVELS else (district_id or pk)
        republican = ctx.orgs.get(OrgKind.PMPK_REPUBLICAN) or list(Organization.objects.filter(kind=OrgKind.PMPK_REPUBLICAN)[:1])
        self.republican = republican[0] if republican else None

    def first(self, territory_id, kind):
        orgs = self.ctx.orgs_by_district.get((self.district.get(territory_id), kind))
        return orgs[0] if orgs else None

    def pmpk(self, territory_id):
        return self.first(territory_id, OrgKind.PMPK_TERRITORIAL) or self.republican


def generate(ctx):
    if Referral.objects.filter(is_synthetic=True).exists():
        ctx.progress("referrals: demo referrals exist; kept")
        return
    if not Learner.objects.filter(is_synthetic=True).exists():
        ctx.progress("referrals: no demo learners; skipped")
        return
    rng = random.Random(f"{ctx.seed}-referrals")
    now = timezone.now()
    today = timezone.localdate()
    builder = _Builder(ctx, rng, now, today)
    featured = builder.featured()
    builder.pmpk_referrals(exclude=featured)
    builder.concerns()
    builder.write()
    builder.history_of_featured()
    ctx.progress("referrals: " + ", ".join(f"{k} {v:,}" for k, v in sorted(builder.counts.items())))


class _Builder:
    def __init__(self, ctx, rng, now, today):
        self.ctx, self.rng, self.now, self.today = ctx, rng, now, today
        self.referrals: list[Referral] = []
        self.plans: list[dict] = []  # per referral: consent to create, observations, clocks
        self.concern_rows: list[tuple[Concern, int]] = []  # (concern, index of its referral)
        self.counts: dict[str, int] = {}
        self.featured_index: int | None = None
        self.days = settings.BIRGE_DEADLINES

    # --- reading the learners in bulk ---------------------------------------------------------------------

    def _sample(self, qs, want: int) -> list[int]:
        total = qs.count()
        if total == 0 or want <= 0:
            return []
        step = max(1, total // want)
        offset = self.rng.randrange(step)
        return list(qs.annotate(m=Mod("pk", step)).filter(m=offset).order_by("pk").values_list("pk", flat=True)[:want])

    def _facts(self, ids):
        learners = {pk: (birth, territory) for pk, birth, territory in
                    Learner.objects.filter(pk__in=ids).values_list("pk", "birth_date", "territory_id")}
        enrolled = {}
        for learner_id, org_id, kind in Enrolment.objects.filter(learner_id__in=ids, status=Enrolment.Status.ACTIVE).order_by(
                "starts_on").values_list("learner_id", "organization_id", "organization__kind"):
            enrolled[learner_id] = (org_id, kind)
        guardians = {}
        for learner_id, guardian_id in GuardianLink.objects.filter(
                learner_id__in=ids, is_legal_representative=True, ends_on__isnull=True).order_by("pk").values_list(
                "learner_id", "guardian_id"):
            guardians.setdefault(learner_id, guardian_id)
        places = _Places(self.ctx, {t for _b, t in learners.values()})
        return learners, enrolled, guardians, places

    # --- PMPK referrals -----------------------------------------------------------------------------------------

    def featured(self) -> set[int]:
        """demo-parent's first child: referred by the demo school, consent given in the system, scheduled."""
        parent = self.ctx.users.get(Role.PARENT.value)
        coordinator = self.ctx.users.get(Role.SCHOOL_COORDINATOR.value)
        if parent is None:
            return set()
        link = GuardianLink.objects.filter(guardian__user=parent, ends_on__isnull=True).select_related(
            "learner", "guardian").order_by("learner__birth_date").first()
        if link is None:
            return set()
        membership = coordinator.memberships.select_related("organization").first() if coordinator else None
        school = membership.organization if membership else None
        places = _Places(self.ctx, [link.learner.territory_id])
        pmpk = places.pmpk(link.learner.territory_id)
        if pmpk is None:
            return set()
        submitted = self.now - dt.timedelta(days=12)
        accepted = submitted + dt.timedelta(days=2, hours=3)
        scheduled = accepted + dt.timedelta(days=1)
        referral = Referral(
            kind=Referral.Kind.PMPK, learner=link.learner, state=State.SCHEDULED, receiving_organization=pmpk,
            referring_organization=school, created_by=coordinator, is_synthetic=True,
            reason="Окуу жана жазуу боюнча тапшырмаларды аткарууда кыйналат, тез чарчайт. Кошумча колдоо керекпи, аныктоо зарыл.",
            tried="Тьютор менен жумасына үч жолу иштешет; тапшырмалар кыскартылды.",
            created_at=submitted - dt.timedelta(days=1), submitted_at=submitted, accepted_at=accepted, scheduled_at=scheduled,
            appointment_at=(self.now + dt.timedelta(days=6)).replace(hour=4, minute=0, second=0, microsecond=0),
            appointment_place=f"{pmpk.address or pmpk}, 2-кабинет",
        )
        self.featured_index = len(self.referrals)
        self.referrals.append(referral)
        self.plans.append({"consent": Consent(
            learner=link.learner, purpose=Consent.Purpose.ASSESSMENT, method=Consent.Method.IN_SYSTEM, given_by=link.guardian,
            given_at=accepted + dt.timedelta(hours=5), recorded_by=parent, recipient=pmpk,
            scope="ПМПКда баалоо"), "observations": [("learning", OBSERVATIONS["learning"][0], STRENGTHS[0]),
                                                      ("concentrating", OBSERVATIONS["concentrating"][0], "")],
            "observer": coordinator, "observer_org": school})
        self.counts["pmpk scheduled (demo-parent's child)"] = 1
        return {link.learner_id}

    def pmpk_referrals(self, exclude: set[int]):
        rng, today = self.rng, self.today
        base = Learner.objects.filter(is_synthetic=True, archived_at__isnull=True,
                                      birth_date__lte=today - dt.timedelta(days=2 * 365),
                                      birth_date__gt=today - dt.timedelta(days=18 * 365))
        total = base.count()
        want = max(40, int(total * REFERRAL_RATE))
        with_status = base.filter(pk__in=DisabilityStatus.objects.values("learner_id"))
        ids = self._sample(with_status, int(want * 0.6)) + self._sample(base, want - int(want * 0.6))
        ids = [pk for pk in dict.fromkeys(ids) if pk not in exclude]
        learners, enrolled, guardians, places = self._facts(ids)
        demo_pmpk = places.first(self.ctx.demo_district.pk, OrgKind.PMPK_TERRITORIAL) if self.ctx.demo_district else None
        coordinator = self.ctx.users.get(Role.SCHOOL_COORDINATOR.value)
        membership = coordinator.memberships.first() if coordinator else None
        demo_school = membership.organization_id if membership else None
        states = [s for s, _w in STATES]
        for i, pk in enumerate(ids):
            birth, territory = learners[pk]
            pmpk = places.pmpk(territory)
            if pmpk is None:
                continue
            state = states[i] if i < len(states) else weighted(rng, STATES)
            guardian = guardians.get(pk)
            if guardian is None and state in (State.SCHEDULED, State.ASSESSED, State.CONCLUDED):
                state = State.ACCEPTED  # no legal representative on record: no consent, no assessment
            org_id, kind = enrolled.get(pk, (None, None))
            by_parent = guardian is not None and rng.random() < 0.08
            if by_parent:
                referring = None
            elif org_id and kind in EDUCATION_KINDS:
                referring = org_id
            else:
                health = places.first(territory, OrgKind.HEALTH_FACILITY)
                referring = health.pk if health else None
                if referring is None:
                    continue
            # The demo PMPK's queue gets a few more overdue referrals.
            in_demo = demo_pmpk is not None and pmpk.pk == demo_pmpk.pk
            referral = self._referral(Referral.Kind.PMPK, pk, state, pmpk, referring, by_parent, guardian,
                                      overdue=rng.random() < 0.3 or (in_demo and i % 5 == 0))
            if referring is not None and referring == demo_school:
                referral.created_by = coordinator  # the demo coordinator's school: she made it, she is told
            self._add(referral, guardian, observe=referring is not None and kind in EDUCATION_KINDS and rng.random() < 0.6)

    def _referral(self, kind, learner_id, state, receiver, referring_id, by_parent, guardian_id, overdue) -> Referral:
        rng, now = self.rng, self.now
        ack, conclude = self.days["referral_acknowledge"], self.days["referral_conclude"]
        # Work backwards from now so every date is in the past and the clocks tell the truth.
        if state == State.SUBMITTED:
            submitted = now - dt.timedelta(days=rng.randint(ack + 1, ack + 20) if overdue else rng.randint(0, ack - 1),
                                           hours=rng.randint(0, 8))
        elif state in (State.ACCEPTED, State.SCHEDULED, State.ASSESSED):
            age = rng.randint(conclude + 2, conclude + 40) if overdue else rng.randint(3, conclude - 3)
            submitted = now - dt.timedelta(days=age + rng.randint(1, ack + 3), hours=rng.randint(0, 8))
        else:
            submitted = now - dt.timedelta(days=rng.randint(20, 400), hours=rng.randint(0, 8))
        r = Referral(kind=kind, learner_id=learner_id, state=state, receiving_organization=receiver,
                     referring_organization_id=referring_id, by_parent=by_parent,
                     referring_guardian_id=guardian_id if by_parent else None, is_synthetic=True,
                     reason=rng.choice(REASONS), tried=rng.choice(TRIED),
                     created_at=submitted - dt.timedelta(days=rng.randint(0, 3), hours=rng.randint(0, 5)))
        if state == State.DRAFT:
            r.created_at = now - dt.timedelta(days=rng.randint(0, 20))
            return r
        r.submitted_at = submitted
        if state == State.WITHDRAWN:
            r.closed_at = min(now, _at(submitted, rng, 1, 20))
            r.close_reason = rng.choice(WITHDRAW_REASONS)
            return r
        if state == State.DECLINED:
            r.closed_at = min(now, _at(submitted, rng, 1, ack + 2))
            r.close_reason = rng.choice(DECLINE_REASONS)
            return r
        if state == State.SUBMITTED:
            return r
        r.accepted_at = min(now, _at(submitted, rng, 1, ack + 3))  # some acknowledged late
        if state == State.ACCEPTED:
            return r
        r.scheduled_at = min(now, _at(r.accepted_at, rng, 1, 6))
        if state == State.SCHEDULED:
            r.appointment_at = now + dt.timedelta(days=rng.randint(1, 21), hours=rng.randint(0, 6))
            return r
        r.appointment_at = min(now, _at(r.scheduled_at, rng, 3, 14))
        r.assessed_at = r.appointment_at
        if state == State.ASSESSED:
            return r
        r.concluded_at = min(now, _at(r.assessed_at, rng, 1, 10))
        return r

    def _add(self, referral: Referral, guardian_id, observe: bool):
        rng = self.rng
        plan = {"consent": None, "observations": [], "observer": None, "observer_org": referral.referring_organization_id}
        needs = referral.state in (State.SCHEDULED, State.ASSESSED, State.CONCLUDED)
        if guardian_id and (needs or (referral.state in (State.SUBMITTED, State.ACCEPTED) and rng.random() < 0.5)):
            given = (referral.submitted_at or referral.created_at) - dt.timedelta(days=rng.randint(0, 3))
            plan["consent"] = Consent(learner_id=referral.learner_id, purpose=Consent.Purpose.ASSESSMENT,
                                      method=Consent.Method.PAPER, given_by_id=guardian_id, given_at=given,
                                      recipient=referral.receiving_organization, scope="ПМПКда баалоо / обследование на ПМПК")
        if observe:
            for domain in rng.sample(sorted(OBSERVATIONS), rng.randint(1, 3)):
                plan["observations"].append((domain, rng.choice(OBSERVATIONS[domain]), rng.choice(STRENGTHS)))
        self.referrals.append(referral)
        self.plans.append(plan)
        self.counts[f"{referral.kind} {referral.state}"] = self.counts.get(f"{referral.kind} {referral.state}", 0) + 1

    # --- early identification ---------------------------------------------------------------------------------

    def concerns(self):
        rng, today = self.rng, self.today
        young = Learner.objects.filter(is_synthetic=True, archived_at__isnull=True,
                                       birth_date__gt=today - dt.timedelta(days=4 * 365 - 30),
                                       birth_date__lte=today - dt.timedelta(days=120))
        ids = self._sample(young, max(5, int(young.count() * CONCERN_RATE)))
        taken = {r.learner_id for r in self.referrals}
        ids = [pk for pk in ids if pk not in taken]
        learners, enrolled, guardians, places = self._facts(ids)
        health_user = self.ctx.users.get(Role.HEALTH_WORKER.value)
        states = [s for s, _w in EARLY_STATES]
        for i, pk in enumerate(ids):
            birth, territory = learners[pk]
            receiver = places.first(territory, OrgKind.EARLY_INTERVENTION) or places.pmpk(territory)
            if receiver is None:
                continue
            guardian = guardians.get(pk)
            org_id, kind = enrolled.get(pk, (None, None))
            health = places.first(territory, OrgKind.HEALTH_FACILITY)
            choice = rng.random()
            if choice < 0.55 and health is not None:
                reporter, org, place = Concern.Reporter.HEALTH_WORKER, health.pk, Concern.Place.HEALTH_FACILITY
            elif choice < 0.75 and org_id and kind in (OrgKind.KINDERGARTEN, OrgKind.EARLY_INTERVENTION):
                reporter, org, place = Concern.Reporter.KINDERGARTEN, org_id, Concern.Place.KINDERGARTEN
            elif choice < 0.85 and guardian is not None:
                reporter, org, place = Concern.Reporter.PARENT, None, Concern.Place.HOME
            else:
                local = places.first(territory, OrgKind.LOCAL_GOVERNMENT)
                if local is None:
                    continue
                reporter, org, place = Concern.Reporter.LOCAL_GOVERNMENT, local.pk, Concern.Place.COMMUNITY
            state = states[i] if i < len(states) else weighted(rng, EARLY_STATES)
            if guardian is None and state in (State.SCHEDULED, State.CONCLUDED):
                state = State.ACCEPTED
            referral = self._referral(Referral.Kind.EARLY_INTERVENTION, pk, state, receiver, org,
                                      reporter == Concern.Reporter.PARENT, guardian, overdue=rng.random() < 0.25)
            noticed_at = timezone.localtime(referral.submitted_at or referral.created_at).date() - dt.timedelta(days=rng.randint(0, 10))
            noticed_at = max(noticed_at, birth + dt.timedelta(days=60))
            noticed = rng.choice(EARLY_NOTICED)
            referral.reason = "Өнүгүүсүнө байланыштуу тынчсыздануу:\n" + "\n".join(f"— {v}" for v in noticed.values())
            concern = Concern(learner_id=pk, noticed_on=noticed_at, place=place, reporter=reporter, noticed=noticed,
                              organization_id=org, is_synthetic=True,
                              recorded_by=health_user if (reporter == Concern.Reporter.HEALTH_WORKER and health_user is not None
                                                          and health is not None and self.ctx.demo_district is not None
                                                          and places.district.get(territory) == self.ctx.demo_district.pk)
                              else None,
                              recorded_at=referral.submitted_at or referral.created_at)
            self.concern_rows.append((concern, len(self.referrals)))
            self._add(referral, guardian, observe=False)

    # --- writing ---------------------------------------------------------------------------------------------

    def write(self):
        consents = [p["consent"] for p in self.plans if p["consent"] is not None]
        Consent.objects.bulk_create(consents, batch_size=BATCH)
        for referral, plan in zip(self.referrals, self.plans, strict=True):
            if plan["consent"] is not None and referral.state in (State.SCHEDULED, State.ASSESSED, State.CONCLUDED):
                referral.consent_id = plan["consent"].pk
        Referral.objects.bulk_create(self.referrals, batch_size=BATCH)
        observations = []
        for referral, plan in zip(self.referrals, self.plans, strict=True):
            observer_org = plan["observer_org"]
            for domain, text, strengths in plan["observations"]:
                observations.append(Observation(
                    referral_id=referral.pk, domain=domain, text=text, strengths=strengths, observed_by=plan["observer"],
                    organization_id=getattr(observer_org, "pk", observer_org),
                    recorded_at=min(self.now, (referral.submitted_at or referral.created_at) + dt.timedelta(hours=3))))
        Observation.objects.bulk_create(observations, batch_size=BATCH)
        concerns = []
        for concern, index in self.concern_rows:
            concern.referral_id = self.referrals[index].pk
            concerns.append(concern)
        Concern.objects.bulk_create(concerns, batch_size=BATCH)
        Deadline.objects.bulk_create(self._clocks(), batch_size=BATCH)
        self.counts["observations"] = len(observations)
        self.counts["consents to assessment"] = len(consents)
        self.counts["concerns"] = len(concerns)

    def _clocks(self) -> list[Deadline]:
        ct = ContentType.objects.get_for_model(Referral)
        out = []
        ack_days, conclude_days = self.days["referral_acknowledge"], self.days["referral_conclude"]

        def clock(r, code, start, days, met=None, cancelled=None, reason=""):
            waiting_user = r.created_by if r.by_parent else None
            out.append(Deadline(content_type=ct, object_id=r.pk, clock=code, learner_id=r.learner_id,
                                owner_organization_id=r.receiving_organization_id,
                                waiting_organization_id=r.referring_organization_id, waiting_user=waiting_user,
                                started_at=start, days=days, due_on=timezone.localtime(start).date() + dt.timedelta(days=days),
                                met_at=met, cancelled_at=cancelled, cancel_reason=reason))

        for r in self.referrals:
            if r.submitted_at is None:
                continue
            if r.state == State.SUBMITTED:
                clock(r, Clock.REFERRAL_ACKNOWLEDGE, r.submitted_at, ack_days)
            elif r.state == State.DECLINED:
                clock(r, Clock.REFERRAL_ACKNOWLEDGE, r.submitted_at, ack_days, met=r.closed_at)
            elif r.state == State.WITHDRAWN:
                clock(r, Clock.REFERRAL_ACKNOWLEDGE, r.submitted_at, ack_days, cancelled=r.closed_at,
                      reason="The referral was withdrawn.")
            else:
                clock(r, Clock.REFERRAL_ACKNOWLEDGE, r.submitted_at, ack_days, met=r.accepted_at)
                clock(r, Clock.REFERRAL_CONCLUDE, r.accepted_at, conclude_days,
                      met=r.concluded_at if r.state == State.CONCLUDED else None)
        return out

    def history_of_featured(self):
        """The featured referral gets its audit trail and the notifications its steps sent."""
        if self.featured_index is None:
            return
        r = self.referrals[self.featured_index]
        coordinator = r.created_by
        chair = self.ctx.users.get(Role.PMPK_CHAIR.value)
        parent = self.ctx.users.get(Role.PARENT.value)
        audit.record(coordinator, AuditEvent.Action.CREATE, r, event="referral.created")
        for actor, old, new in ((coordinator, State.DRAFT, State.SUBMITTED), (chair, State.SUBMITTED, State.ACCEPTED),
                                (chair, State.ACCEPTED, State.SCHEDULED)):
            audit.record_transition(actor, r, old, new, event=f"referral.{new}")
        link = r.get_absolute_url()
        notes = []
        for user, state, at in ((chair, State.SUBMITTED, r.submitted_at), (coordinator, State.SCHEDULED, r.scheduled_at),
                                (parent, State.SCHEDULED, r.scheduled_at)):
            if user is None:
                continue
            with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
                text = str(MESSAGES[state])
            notes.append(Notification(user=user, text=text, link=link, event=f"referral.{state}", created_at=at))
        Notification.objects.bulk_create(notes)
