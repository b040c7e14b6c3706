"""Synthetic PMPK sessions, conclusions and releases for ``birge demo``.

Runs after the learners' and the referrals' demos and reads their rows in bulk: every PMPK
referral that is scheduled has a session to come; every assessed one a held session with findings
(half of them a draft conclusion waiting for the chair); every concluded one a held session and an
issued conclusion with recommendations from the catalogue, its review clock, and — for about
three in five children with a legal representative and a school — a release to that school under
a release consent, with the school's obligations as clocks (older ones mostly met, some overdue).

``demo-parent``: the elder child's earlier conclusion (from a concluded referral a year ago) is
released to ``demo-school-coordinator``'s school (the plans demo builds on it); the younger child
has a conclusion issued last week that the parent has not released yet — the demo shows the
release step. The PMPKs of the demo have synthetic chairs; ``demo-pmpk-chair`` and
``demo-pmpk-member`` sit at the demo PMPK. Deterministic from the seed; rows are written with
``bulk_create``.
"""

from __future__ import annotations

import datetime as dt
import random

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from birge.core import audit
from birge.core.deadline_models import Clock, Deadline, Notification
from birge.core.demo import weighted
from birge.core.models import AuditEvent, Membership, Organization, User
from birge.core.roles import EDUCATION_KINDS, PMPK_KINDS, Role
from birge.learners.models import Consent, Enrolment, FormOfEducation, GuardianLink, Learner, Programme
from birge.referrals.models import Referral, State

from .models import (
    AssessmentSession, CatalogueItem, Conclusion, ConclusionItem, Finding, Obligation, Release, SessionMember, Source,
    Specialty,
)

BATCH = 2000
RELEASE_RATE = 0.6
FINDINGS = {
    "communication": ("a_lot_of_difficulty", "Суроолорго бир-эки сөз менен жооп берет, сүйлөмдү толук түзө албайт.",
                      "Сүрөттөр аркылуу түшүндүргөндө тез түшүнөт."),
    "learning": ("some_difficulty", "Читает по слогам, с трудом пересказывает прочитанное.", "Хорошо запоминает на слух."),
    "concentrating": ("a_lot_of_difficulty", "Бир тапшырмага 5 мүнөттөн ашык көңүл бура албайт.",
                      "Кыска тапшырмаларды кызыгуу менен аткарат."),
    "seeing": ("a_lot_of_difficulty", "Различает крупный шрифт на расстоянии 20 см, с доски не видит.",
               "Хорошо ориентируется в знакомом помещении."),
    "hearing": ("a_lot_of_difficulty", "Угуу аппараты менен жакын аралыкта сүйлөгөндү угат.", "Эриндин кыймылын жакшы окуйт."),
    "walking": ("some_difficulty", "Тепкичтен жардам менен чыгат, узак басканда чарчайт.", "Колдорунун кыймылы жакшы."),
    "speech-language": ("a_lot_of_difficulty", "Звукопроизношение нарушено, словарный запас ниже возрастной нормы.",
                        "Охотно вступает в общение."),
    "social-emotional": ("some_difficulty", "Жаңы чөйрөдө тартынчаак, бирок тез көнөт.", "Классташтарына жардам берет."),
    "self-care": ("some_difficulty", "Кийинүүдө бир аз жардам керек.", "Өз буюмдарын тыкан кармайт."),
}
# Recommendations by the area found most difficult: (services with frequency, conditions, devices, exam accommodations).
PROFILES = {
    "communication": ([("speech-therapy", 90, None), ("psychological-support", 45, None)], ["visual-schedule", "aac"], [],
                      ["exam-extra-time"]),
    "speech-language": ([("speech-therapy", 120, None)], ["adapted-materials"], [], ["exam-extra-time"]),
    "learning": ([("special-pedagogy", 90, None)], ["adapted-materials", "reduced-workload"], [], ["exam-extra-time", "exam-reader"]),
    "concentrating": ([("psychological-support", 60, None), ("tutor", 600, None)], ["breaks", "quiet-space", "seating"], [],
                      ["exam-separate-room", "exam-breaks"]),
    "seeing": ([("typhlopedagogy", 90, None)], ["large-print", "seating"], ["magnifier"], ["exam-large-print", "exam-extra-time"]),
    "hearing": ([("surdopedagogy", 90, None), ("sign-language-interpreting", 300, None)], ["sign-language", "seating"],
                ["hearing-aid", "fm-system"], ["exam-sign-language"]),
    "walking": ([("medical-rehabilitation", None, 4)], ["physical-accessibility", "ground-floor-classroom"],
                ["wheelchair", "adapted-desk"], ["exam-accessible-venue"]),
    "social-emotional": ([("psychological-support", 45, None), ("social-pedagogy", None, 2)], ["quiet-space"], [], []),
    "self-care": ([("assistant", 300, None), ("family-counselling", None, 1)], ["breaks"], [], []),
}
FORMS = [(FormOfEducation.MAINSTREAM, 75), (FormOfEducation.SEPARATE_CLASS, 8), (FormOfEducation.HOME, 7),
         (FormOfEducation.SPECIAL_SCHOOL, 5), (FormOfEducation.ONLINE, 5)]
PROGRAMMES = [(Programme.ADAPTED, 55), (Programme.GENERAL, 30), (Programme.INDIVIDUAL, 15)]
SUMMARIES = [
    "Баланын өнүгүүсүндө сүйлөө жана баарлашуу тармагында кыйынчылыктар бар; жалпы класста логопеддин колдоосу менен "
    "окуй алат.",
    "Ребёнок нуждается в адаптированной программе и специальных условиях; рекомендовано обучение в общеобразовательном "
    "классе с сопровождением специалистов.",
    "Көрүү боюнча кыйынчылыктарга байланыштуу ири шрифттеги материалдар жана тифлопедагогдун сабактары сунушталат.",
]


def generate(ctx):
    if AssessmentSession.objects.filter(referral__is_synthetic=True).exists():
        ctx.progress("assessments: demo sessions exist; kept")
        return
    if not Referral.objects.filter(is_synthetic=True).exists():
        ctx.progress("assessments: no demo referrals; skipped")
        return
    builder = _Builder(ctx, random.Random(f"{ctx.seed}-assessments"))
    builder.featured_referrals()
    builder.from_referrals()
    builder.write()
    builder.history_of_featured()
    ctx.progress("assessments: " + ", ".join(f"{k} {v:,}" for k, v in sorted(builder.counts.items())))


class _Builder:
    def __init__(self, ctx, rng):
        self.ctx, self.rng = ctx, rng
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.catalogue = {c.code: c for c in CatalogueItem.objects.all()}
        self.counts: dict[str, int] = {}
        self.sessions: list[AssessmentSession] = []
        self.members: list[tuple[int, SessionMember]] = []  # (session index, member)
        self.findings: list[tuple[int, int, Finding]] = []  # (session index, member index, finding)
        self.conclusions: list[tuple[int, Conclusion]] = []  # (session index, conclusion)
        self.items: list[tuple[int, ConclusionItem]] = []  # (conclusion index, item)
        self.releases: list[dict] = []  # {"conclusion": index, "consent": Consent, "release": Release, "met": bool}
        self.staff: dict[int, list[tuple[User, str, bool]]] = {}
        self.featured = {}  # "elder" / "younger" -> referral
        demo_chair = ctx.users.get(Role.PMPK_CHAIR.value)
        self.demo_pmpk_id = None
        if demo_chair is not None:
            m = demo_chair.memberships.filter(role=Role.PMPK_CHAIR).first()
            self.demo_pmpk_id = m.organization_id if m else None
        coordinator = ctx.users.get(Role.SCHOOL_COORDINATOR.value)
        m = coordinator.memberships.filter(role=Role.SCHOOL_COORDINATOR).first() if coordinator else None
        self.demo_school_id = m.organization_id if m else None

    def _count(self, key, n=1):
        self.counts[key] = self.counts.get(key, 0) + n

    # --- the PMPKs' people ---------------------------------------------------------------------------------------

    def _ensure_staff(self, pmpk_ids):
        """Members to sit in sessions: the demo PMPK's demo users; a synthetic chair at every other PMPK."""
        chair, member = self.ctx.users.get(Role.PMPK_CHAIR.value), self.ctx.users.get(Role.PMPK_MEMBER.value)
        if self.demo_pmpk_id in pmpk_ids and chair is not None:
            self.staff[self.demo_pmpk_id] = [(chair, Specialty.SPECIAL_PEDAGOGUE, True)]
            if member is not None:
                self.staff[self.demo_pmpk_id].append((member, Specialty.PSYCHOLOGIST, False))
        others = sorted(pk for pk in pmpk_ids if pk not in self.staff)
        if not others:
            return
        names = {pk: f"pmpk-chair-{pk}" for pk in others}
        existing = {u.username: u for u in User.objects.filter(username__in=names.values())}
        password = make_password(None)
        new = [User(username=name, password=password, full_name=f"ПМПК төрагасы (демо) №{pk}")
               for pk, name in names.items() if name not in existing]
        User.objects.bulk_create(new, batch_size=BATCH)
        users = {u.username: u for u in User.objects.filter(username__in=names.values())}
        Membership.objects.bulk_create(
            [Membership(user=users[name], role=Role.PMPK_CHAIR, organization_id=pk, starts_on=self.today - dt.timedelta(days=900))
             for pk, name in names.items() if name not in existing], batch_size=BATCH)
        for pk, name in names.items():
            self.staff[pk] = [(users[name], Specialty.SPECIAL_PEDAGOGUE, True)]
        self._count("synthetic PMPK chairs", len(new))

    # --- demo-parent's children ----------------------------------------------------------------------------------

    def featured_referrals(self):
        """Concluded referrals for demo-parent's children: the elder a year ago, the younger last week."""
        parent = self.ctx.users.get(Role.PARENT.value)
        coordinator = self.ctx.users.get(Role.SCHOOL_COORDINATOR.value)
        if parent is None or self.demo_pmpk_id is None:
            return
        links = list(GuardianLink.objects.filter(guardian__user=parent, ends_on__isnull=True)
                     .select_related("learner", "guardian").order_by("learner__birth_date"))
        if not links:
            return
        rows = []
        for key, link, days_ago in (("elder", links[0], 41), ("younger", links[-1] if len(links) > 1 else None, 9)):
            if link is None:
                continue
            concluded = (self.now - dt.timedelta(days=days_ago)).replace(hour=6, minute=0, second=0, microsecond=0)
            appointment = concluded - dt.timedelta(days=3, hours=2)
            accepted = appointment - dt.timedelta(days=14)
            scheduled = accepted + dt.timedelta(days=1)
            submitted = accepted - dt.timedelta(days=2)
            consent = Consent.objects.create(
                learner=link.learner, purpose=Consent.Purpose.ASSESSMENT, method=Consent.Method.IN_SYSTEM, given_by=link.guardian,
                given_at=accepted + dt.timedelta(hours=4), recorded_by=parent, recipient_id=self.demo_pmpk_id,
                scope="ПМПКда баалоо")
            referral = Referral(
                kind=Referral.Kind.PMPK, learner=link.learner, state=State.CONCLUDED, receiving_organization_id=self.demo_pmpk_id,
                referring_organization_id=self.demo_school_id, created_by=coordinator, consent=consent, is_synthetic=True,
                reason="Сабакта тапшырманы түшүнүүдө жана сүйлөөдө кыйынчылыктар байкалат.",
                tried="Мектеп психологунун кеңеши, кошумча сабактар.", created_at=submitted - dt.timedelta(days=1),
                submitted_at=submitted, accepted_at=accepted, scheduled_at=scheduled, appointment_at=appointment,
                appointment_place="ПМПК, 2-кабинет", assessed_at=appointment, concluded_at=concluded)
            rows.append((key, referral))
        Referral.objects.bulk_create([r for _k, r in rows])
        ct = ContentType.objects.get_for_model(Referral)
        days = settings.BIRGE_DEADLINES
        clocks = []
        for key, r in rows:
            self.featured[key] = r
            for code, start, met in ((Clock.REFERRAL_ACKNOWLEDGE, r.submitted_at, r.accepted_at),
                                     (Clock.REFERRAL_CONCLUDE, r.accepted_at, r.concluded_at)):
                clocks.append(Deadline(content_type=ct, object_id=r.pk, clock=code, learner_id=r.learner_id,
                                       owner_organization_id=r.receiving_organization_id,
                                       waiting_organization_id=r.referring_organization_id, started_at=start, days=days[code],
                                       due_on=timezone.localtime(start).date() + dt.timedelta(days=days[code]), met_at=met))
        Deadline.objects.bulk_create(clocks)
        self._count("concluded referrals of demo-parent's children", len(rows))

    # --- sessions and conclusions from the referrals ----------------------------------------------------------------

    def from_referrals(self):
        referrals = list(Referral.objects.filter(
            is_synthetic=True, kind=Referral.Kind.PMPK, state__in=[State.SCHEDULED, State.ASSESSED, State.CONCLUDED],
            receiving_organization__kind__in=list(PMPK_KINDS)).order_by("pk"))
        if not referrals:
            return
        self._ensure_staff({r.receiving_organization_id for r in referrals})
        ids = [r.learner_id for r in referrals]
        self.guardians = {}
        for learner_id, guardian_id, user_id in GuardianLink.objects.filter(
                learner_id__in=ids, is_legal_representative=True, ends_on__isnull=True).order_by("pk").values_list(
                "learner_id", "guardian_id", "guardian__user_id"):
            self.guardians.setdefault(learner_id, (guardian_id, user_id))
        self.schools = {}
        for learner_id, org_id in Enrolment.objects.filter(
                learner_id__in=ids, status=Enrolment.Status.ACTIVE, organization__kind__in=list(EDUCATION_KINDS)).order_by(
                "starts_on").values_list("learner_id", "organization_id"):
            self.schools[learner_id] = org_id
        self.birth = dict(Learner.objects.filter(pk__in=ids).values_list("pk", "birth_date"))
        self.places = dict(Organization.objects.filter(pk__in={r.receiving_organization_id for r in referrals})
                           .values_list("pk", "address"))
        featured_ids = {r.pk for r in self.featured.values()}
        for r in referrals:
            self._session(r, featured=r.pk in featured_ids)

    def _session(self, r: Referral, featured=False):
        rng = self.rng
        staff = self.staff.get(r.receiving_organization_id, [])
        when = r.appointment_at or (r.scheduled_at or self.now) + dt.timedelta(days=7)
        place = r.appointment_place or f"{self.places.get(r.receiving_organization_id) or 'ПМПК'}, 2-кабинет"
        session = AssessmentSession(
            referral_id=r.pk, learner_id=r.learner_id, pmpk_id=r.receiving_organization_id, scheduled_at=when, place=place[:300],
            family_invited_at=r.scheduled_at, invitation_note="Баланын мектептеги мүнөздөмөсүн ала келиңиз.",
            created_by=staff[0][0] if staff else None)
        index = len(self.sessions)
        self.sessions.append(session)
        for user, specialty, chair in staff:
            self.members.append((index, SessionMember(user=user, specialty=specialty, is_chair=chair)))
        if r.state == State.SCHEDULED:
            self._count("sessions scheduled")
            return
        session.status = AssessmentSession.Status.HELD
        session.held_at = r.assessed_at or when
        session.parent_present = rng.random() < 0.85
        session.attendance_note = "" if session.parent_present else "Баланы чоң энеси алып келди."
        session.sources = sorted(rng.sample([Source.OBSERVATION, Source.FAMILY, Source.SCHOOL_REPORT, Source.SCREENING,
                                             Source.WORK_SAMPLES, Source.TESTS], 3))
        session.observations = "Бала тынч, тапшырмаларга кызыгуу менен катышты."
        domains = ["communication", "learning"] if featured else rng.sample(sorted(FINDINGS), rng.randint(1, 3))
        member_indices = [i for i, (s, _m) in enumerate(self.members) if s == index]
        for n, domain in enumerate(domains):
            if not member_indices:
                break
            difficulty, text, strengths = FINDINGS[domain]
            self.findings.append((index, member_indices[n % len(member_indices)], Finding(
                domain=domain, difficulty=difficulty, text=text, strengths=strengths, recorded_at=session.held_at)))
        self._count("sessions held")
        if r.state == State.ASSESSED:
            # The chair has drafts to issue: always at the demo PMPK, half of them elsewhere.
            if r.receiving_organization_id == self.demo_pmpk_id or self.counts.get("draft conclusions", 0) == 0 \
                    or rng.random() < 0.5:
                self._conclusion(index, r, domains[0], issued=False)
            return
        self._conclusion(index, r, domains[0], issued=True, featured=featured)

    def _conclusion(self, session_index, r: Referral, main_domain: str, *, issued: bool, featured=False):
        rng = self.rng
        staff = self.staff.get(r.receiving_organization_id, [])
        chair = next((u for u, _s, c in staff if c), None)
        issued_at = r.concluded_at if issued else None
        base = timezone.localtime(issued_at).date() if issued_at else self.today
        birth = self.birth.get(r.learner_id)
        guardian_user = self.guardians.get(r.learner_id, (None, None))[1]
        c = Conclusion(
            learner_id=r.learner_id, referral_id=r.pk, pmpk_id=r.receiving_organization_id, created_by=chair,
            programme=Programme.ADAPTED if featured else weighted(rng, PROGRAMMES),
            recommended_form=FormOfEducation.MAINSTREAM if featured else weighted(rng, FORMS),
            with_tutor=main_domain in ("concentrating", "self-care") or rng.random() < 0.1,
            valid_until=base + dt.timedelta(days=3 * 365), next_review_on=base + dt.timedelta(days=365),
            family_language="ru" if rng.random() < 0.25 else "ky", summary=rng.choice(SUMMARIES))
        if issued:
            if chair is None:
                return
            c.status = Conclusion.Status.ISSUED
            c.issued_at, c.issued_by = issued_at, chair
        index = len(self.conclusions)
        self.conclusions.append((session_index, c))
        services, conditions, devices, exams = PROFILES.get(main_domain, PROFILES["learning"])
        position = 0
        for code, minutes, sessions in services:
            self.items.append((index, ConclusionItem(catalogue=self.catalogue[code], kind="service", minutes_per_week=minutes,
                                                     sessions_per_month=sessions, position=position)))
            position += 1
        for kind, codes in (("condition", conditions), ("device", devices)):
            for code in codes:
                self.items.append((index, ConclusionItem(catalogue=self.catalogue[code], kind=kind, position=position)))
                position += 1
        if birth is not None and (base - birth).days >= 13 * 365:
            for code in exams:
                self.items.append((index, ConclusionItem(catalogue=self.catalogue[code], kind="test-accommodation",
                                                         position=position)))
                position += 1
        self._count("conclusions issued" if issued else "draft conclusions")
        if not issued:
            return
        if featured:
            if r.pk == getattr(self.featured.get("elder"), "pk", None):
                self._release(index, c, r, self.demo_school_id, featured=True)
            return  # the younger child's conclusion waits for the parent's release
        school = self.schools.get(r.learner_id)
        if school and r.learner_id in self.guardians and rng.random() < RELEASE_RATE:
            self._release(index, c, r, school)

    def _release(self, conclusion_index, c: Conclusion, r: Referral, school_id, featured=False):
        rng = self.rng
        guardian_id, user_id = self.guardians.get(r.learner_id, (None, None))
        if guardian_id is None:
            return
        after = dt.timedelta(days=3) if featured else dt.timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 6))
        given = min(self.now - dt.timedelta(hours=1), c.issued_at + after)
        in_system = user_id is not None and (featured or rng.random() < 0.5)
        consent = Consent(learner_id=r.learner_id, purpose=Consent.Purpose.RELEASE_CONCLUSION, recipient_id=school_id,
                          given_by_id=guardian_id, given_at=given,
                          method=Consent.Method.IN_SYSTEM if in_system else Consent.Method.PAPER,
                          recorded_by_id=user_id if in_system else None,
                          scope="ПМПКнын корутундусун жана сунуштарын мектепке берүү")
        release = Release(organization_id=school_id, released_at=given, released_by_id=user_id if in_system else None)
        age = (self.now - given).days
        # The demo school's releases stay open for the plans demo; elsewhere older obligations were mostly met.
        met = school_id != self.demo_school_id and age > settings.BIRGE_DEADLINES["release_to_plan"] + 15 and rng.random() < 0.8
        self.releases.append({"conclusion": conclusion_index, "consent": consent, "release": release, "met": met,
                              "learner_id": r.learner_id})
        self._count("releases")

    # --- writing ---------------------------------------------------------------------------------------------------

    def write(self):
        AssessmentSession.objects.bulk_create(self.sessions, batch_size=BATCH)
        for index, member in self.members:
            member.session_id = self.sessions[index].pk
        SessionMember.objects.bulk_create([m for _i, m in self.members], batch_size=BATCH)
        for session_index, member_index, finding in self.findings:
            finding.session_id = self.sessions[session_index].pk
            finding.member_id = self.members[member_index][1].pk
            finding.recorded_by_id = self.members[member_index][1].user_id
        Finding.objects.bulk_create([f for _s, _m, f in self.findings], batch_size=BATCH)
        self._number()
        for session_index, c in self.conclusions:
            c.session_id = self.sessions[session_index].pk
        Conclusion.objects.bulk_create([c for _s, c in self.conclusions], batch_size=BATCH)
        for index, item in self.items:
            item.conclusion_id = self.conclusions[index][1].pk
        ConclusionItem.objects.bulk_create([i for _c, i in self.items], batch_size=BATCH)
        Consent.objects.bulk_create([r["consent"] for r in self.releases], batch_size=BATCH)
        for row in self.releases:
            row["release"].conclusion_id = self.conclusions[row["conclusion"]][1].pk
            row["release"].consent_id = row["consent"].pk
        Release.objects.bulk_create([r["release"] for r in self.releases], batch_size=BATCH)
        items_by_conclusion: dict[int, list[ConclusionItem]] = {}
        for index, item in self.items:
            items_by_conclusion.setdefault(index, []).append(item)
        obligations = []
        for row in self.releases:
            release = row["release"]
            for item in items_by_conclusion.get(row["conclusion"], []):
                if item.kind in ("service", "device"):
                    obligations.append(Obligation(release_id=release.pk, item_id=item.pk, catalogue_id=item.catalogue_id,
                                                  kind=item.kind, learner_id=row["learner_id"], organization_id=release.organization_id,
                                                  created_at=release.released_at))
        Obligation.objects.bulk_create(obligations, batch_size=BATCH)
        Deadline.objects.bulk_create(self._clocks(obligations), batch_size=BATCH)
        self.counts["obligations"] = len(obligations)

    def _number(self):
        seq: dict[tuple[int, int], int] = {}
        issued = sorted((c for _s, c in self.conclusions if c.status == Conclusion.Status.ISSUED), key=lambda c: c.issued_at)
        for c in issued:
            year = timezone.localtime(c.issued_at).year
            key = (c.pmpk_id, year)
            seq[key] = seq.get(key, 0) + 1
            c.number = f"{c.pmpk_id}-{year}-{seq[key]:05d}"

    def _clocks(self, obligations) -> list[Deadline]:
        days = settings.BIRGE_DEADLINES
        ct_conclusion = ContentType.objects.get_for_model(Conclusion)
        ct_release = ContentType.objects.get_for_model(Release)
        ct_obligation = ContentType.objects.get_for_model(Obligation)
        out = []

        def clock(ct, pk, code, learner_id, owner, start, due, met=None):
            out.append(Deadline(content_type=ct, object_id=pk, clock=code, learner_id=learner_id, owner_organization_id=owner,
                                started_at=start, due_on=due, met_at=met,
                                days=max(0, (due - timezone.localtime(start).date()).days)))

        for _s, c in self.conclusions:
            if c.status == Conclusion.Status.ISSUED:
                clock(ct_conclusion, c.pk, Clock.CONCLUSION_REVIEW, c.learner_id, c.pmpk_id, c.issued_at, c.next_review_on)
        met_of = {}
        for row in self.releases:
            release = row["release"]
            start = release.released_at
            due = timezone.localtime(start).date() + dt.timedelta(days=days["release_to_plan"])
            met = start + dt.timedelta(days=self.rng.randint(10, days["release_to_plan"] + 10)) if row["met"] else None
            met_of[release.pk] = met
            clock(ct_release, release.pk, Clock.RELEASE_TO_PLAN, row["learner_id"], release.organization_id, start, due, met)
        for o in obligations:
            code = Clock.SERVICE_START if o.kind == "service" else Clock.DEVICE_DELIVERY
            due = timezone.localtime(o.created_at).date() + dt.timedelta(days=days[code])
            met = met_of.get(o.release_id)
            if met is not None:
                met = met + dt.timedelta(days=self.rng.randint(3, 30))
                met = min(met, self.now)
            clock(ct_obligation, o.pk, code, o.learner_id, o.organization_id, o.created_at, due, met)
        return out

    def history_of_featured(self):
        """demo-parent's conclusions get their audit events and the notifications the parent and school received."""
        parent = self.ctx.users.get(Role.PARENT.value)
        coordinator = self.ctx.users.get(Role.SCHOOL_COORDINATOR.value)
        chair = self.ctx.users.get(Role.PMPK_CHAIR.value)
        featured = {r.pk: key for key, r in self.featured.items()}
        notes = []
        for _s, c in self.conclusions:
            key = featured.get(c.referral_id)
            if key is None or c.status != Conclusion.Status.ISSUED:
                continue
            audit.record(chair, AuditEvent.Action.CREATE, c, event="conclusion.drafted")
            audit.record_transition(chair, c, Conclusion.Status.DRAFT, Conclusion.Status.ISSUED, event="conclusion.issued")
            with translation.override(parent.preferred_language or settings.LANGUAGE_CODE):
                text = str(_("The PMPK issued a conclusion to you; no school sees it until you release it"))
            notes.append(Notification(user=parent, text=text, link=c.get_absolute_url(), event="conclusion.issued",
                                      created_at=c.issued_at))
            for row in self.releases:
                if self.conclusions[row["conclusion"]][1].pk == c.pk:
                    audit.record(parent, AuditEvent.Action.CREATE, row["release"], event="conclusion.released",
                                 learner_id=c.learner_id)
                    if coordinator is not None:
                        with translation.override(coordinator.preferred_language or settings.LANGUAGE_CODE):
                            text = str(_("A family released a PMPK conclusion to your organization; its recommendations "
                                         "are now your obligations"))
                        notes.append(Notification(user=coordinator, text=text, link=c.get_absolute_url(),
                                                  event="conclusion.released", created_at=row["release"].released_at))
        Notification.objects.bulk_create(notes)

