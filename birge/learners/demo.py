"""Synthetic learners for ``birge demo``: identity, guardians, consents, disability, enrolment histories.

Deterministic from the seed and fast at national scale (1.6 million children):
rows are built as tuples and written in batches with one ``executemany`` per
chunk (:class:`Table`; ids allocated here, sequences reset afterwards), with
the folded search keys computed here (nothing goes through ``save()``) and
no query per row. Rates are plausible, not statistics: about 2% of children
have a disability status; most are enrolled at the level of their age; every
form of education and every level occurs.

``demo-parent`` is the guardian (with a Guardian record linked to the account)
of two children at ``demo-school-coordinator``'s school; the demo specialists
and the tutor are assigned to a few learners there.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from functools import lru_cache

from django.utils import timezone

from birge.core import names
from birge.core.demo import weighted
from birge.core.demo_names import (
    FATHER_NAMES, FEMALE_GIVEN, MALE_GIVEN, RUSSIAN_FATHERS, RUSSIAN_FEMALE, RUSSIAN_MALE, RUSSIAN_SURNAMES, SURNAME_ROOTS,
    kyrgyz_form, patronymic, surname,
)
from birge.core.roles import SPECIALIST_ROLES, OrgKind, Role

from .models import (
    Assignment, Consent, Diagnosis, DisabilityStatus, Enrolment, FormOfEducation, Guardian, GuardianLink, Learner, Level,
    Programme,
)

BATCH = 20_000
DISABILITY_RATE = 0.02
ICD = ["F84.0", "F70", "F71", "F80.1", "F90.0", "G80.0", "H54.0", "H90.3", "Q90.0", "G40.9"]
# Forms of education of children with a disability status (weights), and of the others.
DISABLED_FORMS = [(FormOfEducation.MAINSTREAM, 40), (FormOfEducation.SEPARATE_CLASS, 15), (FormOfEducation.SPECIAL_SCHOOL, 15),
                  (FormOfEducation.BOARDING, 5), (FormOfEducation.HOME, 13), (FormOfEducation.FAMILY, 6), (FormOfEducation.ONLINE, 6)]
OTHER_FORMS = [(FormOfEducation.MAINSTREAM, 994), (FormOfEducation.FAMILY, 3), (FormOfEducation.ONLINE, 3)]
LANGUAGES = ["ky", "ky", "ky", "ky,ru", "ru", "uz,ky"]
DROP_REASONS = ["Үй-бүлөсү менен чет өлкөгө көчүп кетти", "Семья переехала, место учёбы неизвестно", "Иштей баштады"]


def _age(rng) -> int:
    """Children 1-17 about evenly, a thinner tail of 18-21 (students)."""
    return rng.randint(18, 21) if rng.random() < 0.06 else rng.randint(1, 17)


def _birth_date(rng, today, age) -> dt.date:
    start = dt.date(today.year - age - 1, today.month, 1) + dt.timedelta(days=20)
    return min(start + dt.timedelta(days=rng.randint(0, 364)), today - dt.timedelta(days=1))


def _age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _school_year_start(today: dt.date, years_ago: int = 0) -> dt.date:
    year = today.year if today.month >= 9 else today.year - 1
    return dt.date(year - years_ago, 9, 1)


class PinMaker:
    """Valid synthetic PINs (sex digit, birth date, serial), unique per sex and date."""

    def __init__(self, rng):
        self.next = defaultdict(lambda: rng.randint(1, 400))

    def __call__(self, sex: str, birth: dt.date) -> str:
        digit = "1" if sex == "female" else "2"
        key = (digit, birth)
        serial = self.next[key]
        self.next[key] += 1
        return f"{digit}{birth:%d%m%Y}{serial:05d}"


def _child_name(rng, sex):
    """(last, first, patronymic) in one of the naming forms seen in registers."""
    female = sex == "female"
    roll = rng.random()
    if roll < 0.10:  # Russian names
        father = rng.choice(RUSSIAN_FATHERS)
        return (rng.choice(RUSSIAN_SURNAMES) + ("а" if female else ""), rng.choice(RUSSIAN_FEMALE if female else RUSSIAN_MALE),
                father + ("овна" if female else "ович"))
    given = rng.choice(FEMALE_GIVEN if female else MALE_GIVEN)
    father = rng.choice(FATHER_NAMES)
    if roll < 0.62:  # Russian-style: Асанов Бакыт Асанович
        return surname(rng.choice(SURNAME_ROOTS), sex), given, patronymic(father, sex)
    if roll < 0.85:  # Kyrgyz form in the patronymic field: Бакыт Асан уулу
        return "", given, kyrgyz_form(father, sex)
    return kyrgyz_form(father, sex), given, ""  # Kyrgyz form in the surname field


class Places:
    """Where children of a district go: schools, kindergartens, and the regional and national organizations."""

    def __init__(self, ctx):
        self.ctx = ctx
        by_region = defaultdict(lambda: defaultdict(list))
        for kind in (OrgKind.SPECIAL_SCHOOL, OrgKind.BOARDING_SCHOOL, OrgKind.VOCATIONAL_PRIMARY, OrgKind.VOCATIONAL_SECONDARY):
            for org in ctx.orgs.get(kind, []):
                region = org.territory.region_id or org.territory_id
                by_region[region][kind].append(org)
        self.by_region = by_region
        self.any = {kind: ctx.orgs.get(kind, []) for kind in OrgKind}

    def district_orgs(self, district, kind):
        return self.ctx.orgs_by_district.get((district.pk, kind)) or []

    def regional(self, district, kind):
        region = district.region_id or district.pk
        return self.by_region.get(region, {}).get(kind) or self.any.get(kind) or []


def _district_weights(ctx):
    weights = []
    for d in ctx.districts:
        n = len(ctx.orgs_by_district.get((d.pk, OrgKind.SCHOOL), [])) + len(ctx.orgs_by_district.get((d.pk, OrgKind.KINDERGARTEN), []))
        if n:
            weights.append((d, n))
    return weights


def generate(ctx):
    if Learner.objects.filter(is_synthetic=True).exists():
        ctx.progress("learners: demo learners exist; kept")
        return
    rng = random.Random(f"{ctx.seed}-learners")
    today = timezone.localdate()
    now = timezone.now()
    places = Places(ctx)
    pins = PinMaker(rng)
    adult_pins = PinMaker(rng)
    weights = _district_weights(ctx)
    total = ctx.scale.learners
    districts = [d for d, _w in weights]
    cumulative, acc = [], 0
    for _d, w in weights:
        acc += w
        cumulative.append(acc)
    tables = {"learner": Table(Learner), "guardian": Table(Guardian), "link": Table(GuardianLink), "enrolment": Table(Enrolment),
              "consent": Table(Consent), "disability": Table(DisabilityStatus), "diagnosis": Table(Diagnosis)}
    done = 0
    forms_left = list(FormOfEducation)  # make sure every form occurs
    while done < total:
        n = min(BATCH, total - done)
        picks = [districts[_bisect(cumulative, rng.random() * acc)] for _ in range(n)]
        _write_batch(ctx, rng, today, now, places, pins, adult_pins, picks, tables, forms_left)
        done += n
        ctx.progress(f"learners: {done:,} of {total:,}")
    _reset_sequences([t.model for t in tables.values()])
    _featured(ctx, rng, today, now, pins)
    ctx.progress("learners: " + ", ".join(f"{name} {t.count:,}" for name, t in tables.items()))


def _bisect(cumulative, x):
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    return lo


class Table:
    """Rows written with one ``executemany`` per chunk and ids given here (no model instances, no per-row SQL).

    ``bulk_create`` builds a model instance and SQL text per row and, on SQLite, splits into batches of a few
    dozen rows; at national scale (about nine million rows) that takes most of an hour. Ids are allocated
    from the table's current maximum; the sequences are reset afterwards (PostgreSQL).
    """

    CHUNK = 5000

    def __init__(self, model):
        from django.db import connection, models

        self.model = model
        fields = model._meta.concrete_fields
        self.names = [f.attname for f in fields]
        self.defaults = {}
        for f in fields:
            if f.primary_key:
                continue
            default = f.get_default() if f.has_default() else (None if f.null else f.get_default())
            self.defaults[f.attname] = default
        self.adapt = {}
        for f in fields:  # the same few thousand dates recur: adapt each once
            if isinstance(f, models.DateTimeField):
                self.adapt[f.attname] = _ADAPT_DATETIME
            elif isinstance(f, models.DateField):
                self.adapt[f.attname] = _ADAPT_DATE
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        self.sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({marks})"
        self.next_id = (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        self.rows = []
        self.count = 0

    def add(self, **values) -> int:
        pk = self.next_id
        self.next_id += 1
        row = {**self.defaults, **values, "id": pk}
        for name, adapt in self.adapt.items():
            if row[name] is not None:
                row[name] = adapt(row[name])
        self.rows.append(tuple(row[n] for n in self.names))
        return pk

    def flush(self):
        from django.db import connection

        with connection.cursor() as cursor:
            for i in range(0, len(self.rows), self.CHUNK):
                cursor.executemany(self.sql, self.rows[i:i + self.CHUNK])
        self.count += len(self.rows)
        self.rows = []


@lru_cache(maxsize=1 << 16)
def _ADAPT_DATETIME(value):  # noqa: N802
    from django.db import connection

    return connection.ops.adapt_datetimefield_value(value)


@lru_cache(maxsize=1 << 16)
def _ADAPT_DATE(value):  # noqa: N802
    from django.db import connection

    return connection.ops.adapt_datefield_value(value)


def _reset_sequences(models):
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def _write_batch(ctx, rng, today, now, places, pins, adult_pins, districts, tables, forms_left):
    t = tables
    for district in districts:
        sex = "female" if rng.random() < 0.49 else "male"
        age = _age(rng)
        birth = _birth_date(rng, today, age)
        age = _age_on(birth, today)
        last, first, patr = _child_name(rng, sex)
        disabled = rng.random() < DISABILITY_RATE
        plan = _enrolment_plan(rng, today, places, district, birth, age, disabled, forms_left)
        home = plan[-1][0] if plan else None
        if home is not None and home.territory.district_id == district.pk:
            territory = home.territory
        else:
            territory = rng.choice(ctx.municipalities.get(district.pk) or [district])
        health = places.district_orgs(district, OrgKind.HEALTH_FACILITY)
        created_by = home or (health[0] if health else None)
        learner_id = t["learner"].add(
            pin="" if rng.random() < 0.03 else pins(sex, birth), last_name=last, first_name=first, patronymic=patr,
            birth_date=birth, sex=sex, territory_id=territory.pk, languages=rng.choice(LANGUAGES),
            search_key=names.search_key(" ".join(p for p in (last, first, patr) if p)), created_at=now,
            created_by_org_id=created_by.pk if created_by else None, is_synthetic=True,
        )
        active_org = None
        for org, level, grade, form, programme, starts, ends, status, reason in plan:
            t["enrolment"].add(
                learner_id=learner_id, organization_id=org.pk, level=level, grade=grade, form=form, programme=programme,
                with_tutor=disabled and form in (FormOfEducation.MAINSTREAM, FormOfEducation.SEPARATE_CLASS) and rng.random() < 0.3,
                class_name=f"{grade}{rng.choice('АБВГ')}" if grade else "", starts_on=starts, ends_on=ends, status=status,
                end_reason=reason, language=rng.choice(["ky", "ky", "ru"]),
            )
            if status == Enrolment.Status.ACTIVE:
                active_org = org
        # Guardians: nearly always the mother, often the father too; the first one signs the consents.
        root = rng.choice(SURNAME_ROOTS)
        father_name = patr.split()[0] if " " in patr else rng.choice(FATHER_NAMES)
        family = []
        if rng.random() < 0.96:
            family.append(("female", rng.choice(FEMALE_GIVEN), GuardianLink.Relation.MOTHER, "7"))
        if rng.random() < 0.45 or not family:
            relation = GuardianLink.Relation.FATHER if rng.random() < 0.9 else GuardianLink.Relation.LEGAL_GUARDIAN
            family.append(("male", father_name, relation, "5"))
        first_guardian = None
        for gsex, given, relation, prefix in family:
            gl = surname(root, gsex)
            gpin = ""
            if rng.random() < 0.1:
                gpin = adult_pins(gsex, birth - dt.timedelta(days=365 * rng.randint(20, 40) + rng.randint(0, 364)))
            gid = t["guardian"].add(first_name=given, last_name=gl, pin=gpin, search_key=names.search_key(f"{gl} {given}"),
                                    phone=f"+996 {prefix}{rng.randint(0, 99):02d} {rng.randint(100000, 999999)}",
                                    preferred_language=rng.choice(["ky", "ky", "ru"]))
            t["link"].add(learner_id=learner_id, guardian_id=gid, relation=relation, is_legal_representative=True,
                          starts_on=birth)
            first_guardian = first_guardian or gid
        if rng.random() < 0.7:
            t["consent"].add(learner_id=learner_id, purpose=Consent.Purpose.DATA_PROCESSING, method=Consent.Method.PAPER,
                             given_by_id=first_guardian, given_at=now - dt.timedelta(days=rng.randint(30, 900)),
                             scope="Билим берүү уюмунда жеке маалыматтарды иштетүү")
        if not disabled:
            continue
        t["disability"].add(**_status(rng, today, places, district, birth, age), learner_id=learner_id)
        if rng.random() < 0.5:
            t["diagnosis"].add(learner_id=learner_id, code=rng.choice(ICD), recorded_on=birth + dt.timedelta(days=365 * max(1, age - 1)))
        t["consent"].add(learner_id=learner_id, purpose=Consent.Purpose.ASSESSMENT, method=Consent.Method.PAPER,
                         given_by_id=first_guardian, given_at=now - dt.timedelta(days=rng.randint(60, 700)))
        if active_org is not None and rng.random() < 0.6:
            withdrawn = rng.random() < 0.05
            t["consent"].add(
                learner_id=learner_id, purpose=Consent.Purpose.RELEASE_CONCLUSION, method=Consent.Method.PAPER,
                given_by_id=first_guardian, recipient_id=active_org.pk, given_at=now - dt.timedelta(days=rng.randint(20, 400)),
                withdrawn_at=now - dt.timedelta(days=rng.randint(1, 19)) if withdrawn else None,
                withdrawal_reason="Ата-энеси макулдугун кайтарып алды" if withdrawn else "",
            )
    for table in t.values():  # parents before children: the dict is in dependency order
        table.flush()


def _enrolment_plan(rng, today, places, district, birth, age, disabled, forms_left):
    """[(org, level, grade, form, programme, starts_on, ends_on, status, reason)], the active one last."""
    plan = []
    schools = places.district_orgs(district, OrgKind.SCHOOL)
    kindergartens = places.district_orgs(district, OrgKind.KINDERGARTEN)
    year0 = _school_year_start(today)

    def form_for(level):
        if disabled and forms_left and level == Level.SCHOOL:
            return forms_left.pop(0)
        return weighted(rng, DISABLED_FORMS if disabled else OTHER_FORMS)

    def programme_for(form):
        if not disabled:
            return Programme.GENERAL
        if form in (FormOfEducation.SPECIAL_SCHOOL, FormOfEducation.BOARDING, FormOfEducation.HOME):
            return rng.choice([Programme.ADAPTED, Programme.INDIVIDUAL])
        return rng.choice([Programme.GENERAL, Programme.ADAPTED])

    def start(years_ago):
        return max(_school_year_start(today, years_ago), birth + dt.timedelta(days=1))

    if age <= 2:
        ei = places.district_orgs(district, OrgKind.EARLY_INTERVENTION)
        if ei and (disabled or rng.random() < 0.02):
            plan.append((ei[0], Level.EARLY_INTERVENTION, None, FormOfEducation.MAINSTREAM, Programme.INDIVIDUAL,
                         max(birth + dt.timedelta(days=120), today - dt.timedelta(days=200)), None, Enrolment.Status.ACTIVE, ""))
    elif age <= 5:
        if kindergartens and rng.random() < (0.85 if disabled else 0.75):
            form = FormOfEducation.HOME if disabled and rng.random() < 0.15 else FormOfEducation.MAINSTREAM
            plan.append((rng.choice(kindergartens), Level.KINDERGARTEN, None, form, programme_for(form), start(min(age - 3, 2)), None,
                         Enrolment.Status.ACTIVE, ""))
    elif age == 6:
        if schools and rng.random() < 0.6:
            plan.append((rng.choice(schools), Level.PRESCHOOL_PREPARATION, None, FormOfEducation.MAINSTREAM, Programme.GENERAL,
                         year0, None, Enrolment.Status.ACTIVE, ""))
        elif kindergartens and rng.random() < 0.75:
            plan.append((rng.choice(kindergartens), Level.PRESCHOOL_PREPARATION, None, FormOfEducation.MAINSTREAM, Programme.GENERAL,
                         year0, None, Enrolment.Status.ACTIVE, ""))
    elif age <= 17:
        grade = max(1, min(11, age - 6))
        if kindergartens and age <= 10 and rng.random() < 0.5:  # the kindergarten years, completed
            ended = start(grade - 1)
            plan.append((rng.choice(kindergartens), Level.KINDERGARTEN, None, FormOfEducation.MAINSTREAM, Programme.GENERAL,
                         max(ended - dt.timedelta(days=3 * 365), birth + dt.timedelta(days=3 * 365)), ended - dt.timedelta(days=92),
                         Enrolment.Status.COMPLETED, ""))
        form = form_for(Level.SCHOOL)
        if form in (FormOfEducation.SPECIAL_SCHOOL, FormOfEducation.BOARDING):
            kind = OrgKind.SPECIAL_SCHOOL if form == FormOfEducation.SPECIAL_SCHOOL else OrgKind.BOARDING_SCHOOL
            candidates = places.regional(district, kind)
        else:
            candidates = schools
        if not candidates:
            form, candidates = FormOfEducation.MAINSTREAM, schools
        if not candidates:
            return plan
        roll = rng.random()
        if roll < 0.005 and age >= 12:  # dropped out: no active enrolment
            plan.append((rng.choice(candidates), Level.SCHOOL, grade - 1, form, programme_for(form), start(grade - 1),
                         today - dt.timedelta(days=rng.randint(30, 300)), Enrolment.Status.DROPPED_OUT, rng.choice(DROP_REASONS)))
            return plan
        if roll < 0.02:  # out of school
            return plan
        if roll < 0.05 and grade >= 3 and len(schools) > 1:  # transferred once
            moved = start(rng.randint(1, grade - 1))
            plan.append((rng.choice(schools), Level.SCHOOL, 1, FormOfEducation.MAINSTREAM, Programme.GENERAL, start(grade - 1),
                         moved, Enrolment.Status.TRANSFERRED, "Үй-бүлөсү көчүп кетти"))
            plan.append((rng.choice(candidates), Level.SCHOOL, grade, form, programme_for(form), moved, None,
                         Enrolment.Status.ACTIVE, ""))
            return plan
        plan.append((rng.choice(candidates), Level.SCHOOL, grade, form, programme_for(form), start(grade - 1), None,
                     Enrolment.Status.ACTIVE, ""))
    else:
        roll = rng.random()
        if roll < 0.25:
            orgs, level = places.regional(district, OrgKind.VOCATIONAL_PRIMARY), Level.VOCATIONAL_PRIMARY
        elif roll < 0.45:
            orgs, level = places.regional(district, OrgKind.VOCATIONAL_SECONDARY), Level.VOCATIONAL_SECONDARY
        elif roll < 0.65:
            orgs, level = places.any.get(OrgKind.UNIVERSITY) or [], Level.UNIVERSITY
        else:
            orgs, level = [], None
        if orgs:
            form = FormOfEducation.ONLINE if disabled and rng.random() < 0.2 else FormOfEducation.MAINSTREAM
            plan.append((rng.choice(orgs), level, None, form, programme_for(form), start(min(age - 17, 3)), None,
                         Enrolment.Status.ACTIVE, ""))
    return plan


def _status(rng, today, places, district, birth, age) -> dict:
    msek = places.district_orgs(district, OrgKind.SOCIAL_PROTECTION)
    if age >= 18:
        adult_from = dt.date(birth.year + 18, 3, 1) if (birth.month, birth.day) == (2, 29) else birth.replace(year=birth.year + 18)
        starts = min(adult_from + dt.timedelta(days=rng.randint(0, 200)), today - dt.timedelta(days=1))
        category = rng.choice([DisabilityStatus.Category.GROUP_I, DisabilityStatus.Category.GROUP_II, DisabilityStatus.Category.GROUP_III])
    else:
        earliest = birth + dt.timedelta(days=180)
        span = max(1, (today - earliest).days)
        starts = min(earliest + dt.timedelta(days=rng.randint(0, span)), today - dt.timedelta(days=1))
        category = DisabilityStatus.Category.CHILD
    indefinite = rng.random() < 0.3
    ends = None if indefinite else max(starts + dt.timedelta(days=365 * rng.randint(1, 5)), today + dt.timedelta(days=rng.randint(30, 700)))
    if ends and category == DisabilityStatus.Category.CHILD:
        ends = max(min(ends, dt.date(birth.year + 18, 1, 1)), starts)
    reexamination = ends - dt.timedelta(days=30) if ends and ends - dt.timedelta(days=30) >= starts else None
    return dict(
        category=category, certifying_body_id=msek[0].pk if msek else None, indefinite=indefinite, starts_on=starts, ends_on=ends,
        certificate_number=f"МСЭК-{district.code[5:8]}-{rng.randint(10000, 99999)}", reexamination_on=reexamination,
        rehabilitation_programme=f"ИПР-{rng.randint(1000, 9999)}" if rng.random() < 0.6 else "",
    )


def _featured(ctx, rng, today, now, pins):
    """demo-parent's two children at demo-school-coordinator's school, and the demo specialists' caseload there."""
    parent = ctx.users.get(Role.PARENT.value)
    coordinator = ctx.users.get(Role.SCHOOL_COORDINATOR.value)
    if parent is None or coordinator is None:
        return
    school = coordinator.memberships.select_related("organization__territory").first().organization
    msek = ctx.orgs_by_district.get((ctx.demo_district.pk, OrgKind.SOCIAL_PROTECTION)) or [None]
    children = []
    for first, sex, age, disabled in (("Бакыт", "male", 9, True), ("Айдана", "female", 6, False)):
        birth = dt.date(today.year - age, 3, 15) if (today.month, today.day) >= (3, 15) else dt.date(today.year - age - 1, 3, 15)
        child = Learner(pin=pins(sex, birth), last_name="", first_name=first, patronymic=kyrgyz_form("Асан", sex), birth_date=birth,
                        sex=sex, territory=school.territory, languages="ky", created_by_org=school, is_synthetic=True)
        child.search_key = names.search_key(child.full_name)
        child.save()
        children.append(child)
        if age >= 7:
            Enrolment.objects.create(learner=child, organization=school, level=Level.SCHOOL, grade=age - 6, class_name=f"{age - 6}А",
                                     form=FormOfEducation.MAINSTREAM, programme=Programme.ADAPTED, with_tutor=True,
                                     starts_on=_school_year_start(today, age - 7), language="ky")
        else:
            Enrolment.objects.create(learner=child, organization=school, level=Level.PRESCHOOL_PREPARATION,
                                     starts_on=_school_year_start(today), language="ky")
        if disabled:
            DisabilityStatus.objects.create(learner=child, category=DisabilityStatus.Category.CHILD, certifying_body=msek[0],
                                            certificate_number="МСЭК-222-10001", starts_on=birth + dt.timedelta(days=4 * 365),
                                            indefinite=True, rehabilitation_programme="ИПР-2001")
    guardian = Guardian(first_name="Айпери", patronymic="Асан кызы", phone="+996 700 123 456", email=parent.email,
                        user=parent, preferred_language="ky")
    guardian.save()
    for child in children:
        GuardianLink.objects.create(learner=child, guardian=guardian, relation=GuardianLink.Relation.MOTHER, starts_on=child.birth_date)
        Consent.objects.create(learner=child, purpose=Consent.Purpose.DATA_PROCESSING, method=Consent.Method.IN_SYSTEM,
                               given_by=guardian, given_at=now - dt.timedelta(days=120), recorded_by=parent,
                               scope="Билим берүү уюмунда жеке маалыматтарды иштетүү")
    # Caseloads: each demo specialist and the tutor get the featured child and a few classmates.
    classmates = list(Learner.objects.filter(
        enrolments__organization=school, enrolments__status=Enrolment.Status.ACTIVE, enrolments__level=Level.SCHOOL,
    ).exclude(pk__in=[c.pk for c in children]).order_by("pk").values_list("pk", flat=True)[:60])
    with_status = set(DisabilityStatus.objects.filter(learner_id__in=classmates).values_list("learner_id", flat=True))
    preferred = [pk for pk in classmates if pk in with_status] + [pk for pk in classmates if pk not in with_status]
    assignments = []
    staff = [(r.value, Assignment.Kind.SPECIALIST) for r in SPECIALIST_ROLES] + [(Role.TUTOR.value, Assignment.Kind.TUTOR)]
    for i, (role, kind) in enumerate(sorted(staff)):
        user = ctx.users.get(role)
        if user is None:
            continue
        caseload = [children[0].pk] + preferred[i % max(1, len(preferred)):][:3]
        for pk in dict.fromkeys(caseload):
            assignments.append(Assignment(learner_id=pk, user=user, organization=school, kind=kind,
                                          starts_on=today - dt.timedelta(days=rng.randint(20, 200))))
    Assignment.objects.bulk_create(assignments)
    ctx.progress(f"learners: demo-parent's children at {school}; {len(assignments)} assignments of demo specialists and tutor")
