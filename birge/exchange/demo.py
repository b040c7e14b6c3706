"""Synthetic exchange data for ``birge demo``: agency sources, one MSEK register batch, outreach cases.

Deterministic from the seed. The demo social-protection officer imports an MSEK register of the
demo district through the same service as the page: the district's learners with a disability
status (some in Latin letters, without a PIN, in the Kyrgyz naming form, with a typo), a sibling
of one of them (the twin signature: it waits in the review queue), and children who are on no
roster (they are registered as learners and become out-of-school cases for the demo local
self-government officer, one of them already contacted). A health-referral extract then names two of
those children again (one in Latin letters): its rows are linked to the register's as the same child,
and follow them to the learners when they are registered. Nothing here is real.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from birge.core import names
from birge.core.demo_names import FEMALE_GIVEN, MALE_GIVEN, SURNAME_ROOTS, kyrgyz_form, patronymic, surname
from birge.core.roles import OrgKind, Role
from birge.learners.models import Learner

from . import services
from .models import AgencyKind, ImportSource, LinkState

SOURCES = [
    ("Социалдык коргоо / МСЭК: майыптуулугу бар адамдардын реестри", AgencyKind.DISABILITY_REGISTER,
     {"disability_category": "Категория", "certificate_number": "Справка"}),
    ("Саламаттык сактоо: эрте аныктоо жолдомолору", AgencyKind.HEALTH_REFERRALS, {"concern": "Себеби"}),
    ("Жарандык абалдын актылары: көчүрмө", AgencyKind.CIVIL_REGISTRY, {}),
    ("Мектептердин тизмелери", AgencyKind.SCHOOL_ROSTER, {}),
]
HEADER = ["id", "pin", "last_name", "first_name", "patronymic", "birth_date", "sex", "region", "district", "settlement",
          "Категория", "Справка"]
NEW_CHILDREN = 4


def _latin(value: str) -> str:
    return " ".join(w.capitalize() for w in names.fold(value).split())


def generate(ctx):
    if ImportSource.objects.exists():
        ctx.progress("exchange: sources exist; kept")
        return
    rng = random.Random(f"{ctx.seed}-exchange")
    sources = [ImportSource.objects.create(name=n, kind=k, column_mapping=m) for n, k, m in SOURCES]
    officer = ctx.users.get(Role.SOCIAL_PROTECTION_OFFICER.value)
    lsg_officer = ctx.users.get(Role.LOCAL_GOVERNMENT_OFFICER.value)
    if officer is None or ctx.demo_district is None:
        ctx.progress("exchange: sources only (no demo officer)")
        return
    lsg_org = lsg_officer.memberships.select_related("organization__territory").first().organization if lsg_officer else None
    home = lsg_org.territory if lsg_org else ctx.demo_district
    region = ctx.demo_district.region or ctx.demo_district
    today = timezone.localdate()
    rows = []
    disabled = list(Learner.objects.filter(territory__code__startswith=ctx.demo_district.prefix, is_synthetic=True,
                                           disability_statuses__isnull=False, archived_at__isnull=True)
                    .select_related("territory").distinct().order_by("pk")[:40])
    for i, child in enumerate(disabled):
        last, first, father = child.last_name, child.first_name, child.patronymic
        pin = child.pin
        roll = rng.random()
        if roll < 0.25:  # Latin letters, no PIN
            last, first, father, pin = _latin(last), _latin(first), _latin(father), ""
        elif roll < 0.4:  # no PIN, a typo in the given name
            pin = ""
            first = first[:-1] + ("а" if first[-1] != "а" else "ы") if len(first) > 3 else first
        elif roll < 0.5:
            pin = ""
        birth = child.birth_date.strftime("%d.%m.%Y") if rng.random() < 0.6 else child.birth_date.isoformat()
        sex = "F" if child.sex == "female" else "M"
        rows.append([f"MSEK-{i + 1:04d}", pin, last, first, father, birth, sex, region.name_ky, ctx.demo_district.name_ky,
                     child.territory.name_ky if child.territory != ctx.demo_district else "", "ребенок",
                     f"МСЭК-{rng.randint(10000, 99999)}"])
    # Brothers and sisters with the same family, father and birth date but another given name: the twin
    # signature, never linked automatically; they wait in the review queue.
    for k, twin in enumerate([c for c in disabled if c.last_name and c.patronymic][:3]):
        given = rng.choice([g for g in (MALE_GIVEN if twin.sex == "male" else FEMALE_GIVEN) if g[:3] != twin.first_name[:3]])
        rows.append([f"MSEK-T{k + 1:03d}", "", twin.last_name, given, twin.patronymic, twin.birth_date.isoformat(),
                     "M" if twin.sex == "male" else "F", region.name_ky, ctx.demo_district.name_ky, "", "ребенок", ""])
    new_rows = []
    for j in range(NEW_CHILDREN):  # children on no roster, living where the demo local self-government works
        sex = "male" if j % 2 else "female"
        age = rng.randint(4, 12)
        birth = today.replace(year=today.year - age, day=min(today.day, 28)) - dt.timedelta(days=rng.randint(30, 300))
        father = rng.choice(MALE_GIVEN)
        root = rng.choice(SURNAME_ROOTS)
        given = rng.choice(MALE_GIVEN if sex == "male" else FEMALE_GIVEN)
        kyrgyz = rng.random() < 0.5
        new_rows.append([f"MSEK-N{j + 1:03d}", "", "" if kyrgyz else surname(root, sex), given,
                         kyrgyz_form(father, sex) if kyrgyz else patronymic(father, sex), birth.strftime("%d.%m.%Y"),
                         "M" if sex == "male" else "F", region.name_ky, ctx.demo_district.name_ky,
                         home.name_ky if home != ctx.demo_district else "", "ребенок", f"МСЭК-{rng.randint(10000, 99999)}"])
    rows += new_rows
    if disabled:  # one child entered twice: the health facility registered them again, in Latin letters, without PIN
        child = disabled[-1]
        health = (ctx.orgs_by_district.get((ctx.demo_district.pk, OrgKind.HEALTH_FACILITY)) or [None])[0]
        copy = Learner(last_name=_latin(child.last_name), first_name=_latin(child.first_name),
                       patronymic=_latin(child.patronymic), birth_date=child.birth_date, sex=child.sex,
                       territory=child.territory, languages="ky", created_by_org=health, is_synthetic=True)
        copy.search_key = names.search_key(copy.full_name)
        copy.save()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADER)
    writer.writerows(rows)
    outcome = services.import_file(
        officer, source=sources[0], file_name=f"msek-{ctx.demo_district.code}-{today:%Y-%m}.csv",
        data=buf.getvalue().encode("utf-8"), legal_basis="law",
        legal_reference="ЖК Өкмөтүнүн 2012-жылдын 31-январындагы №68 токтому", purpose="out-of-school")
    if not outcome.committed:
        ctx.progress(f"exchange: the demo register did not import ({len(outcome.report.errors)} errors)")
        return
    batch = outcome.batch
    services.link_batch(officer, batch)
    health = _health_referrals(officer, sources[1], new_rows, ctx, region, home, rng, today)
    registered = 0
    for person in batch.persons.filter(link_state=LinkState.NO_MATCH).order_by("row_number"):
        try:
            services.register_person(officer, person, confirm_new=True)
            registered += 1
        except (ValidationError, PermissionDenied):  # a synthetic row the registry refuses: left for the page
            continue
    found = services.find_out_of_school(None, notify=False)  # no notifications or e-mail from the demo
    mine = [c for c in found.opened if lsg_org and c.assigned_organization_id == lsg_org.pk]
    if mine and lsg_officer:
        services.transition(lsg_officer, mine[0], "contact", reason="Энеси менен телефон аркылуу сүйлөштүк.")
    batch.refresh_from_db()
    ctx.progress(f"exchange: {len(sources)} sources, batch of {batch.rows_imported} rows "
                 f"({batch.link_stats.get('linked', 0)} linked, {batch.link_stats.get('review', 0)} to review), "
                 f"{registered} registered, {len(found.opened)} outreach cases; health referrals: "
                 f"{health.link_stats.get('same_child_links', 0) if health else 0} rows of the same child as the register's")


def _health_referrals(officer, source, new_rows, ctx, region, home, rng, today):
    """A health-referral extract (shared with social protection under an agreement) naming two of the register's
    unrostered children — one in Latin letters, one with the birth date written day-first — and a child with a
    concern known to no register: linked to the register's rows as the same child, so that registering those
    children links the health rows to them too."""
    header = ["id", "pin", "last_name", "first_name", "patronymic", "birth_date", "sex", "region", "district", "settlement",
              "Себеби"]
    concerns = ["Сөзү кечигип чыгууда", "Басууда кыйынчылык", "Угуусу начар"]
    rows = []
    for k, row in enumerate(new_rows[:2]):
        last, first, father = row[2:5]
        if k == 0:
            last, first, father = _latin(last), _latin(first), _latin(father)
        rows.append([f"HR-{k + 1:03d}", "", last, first, father, row[5], row[6], row[7], row[8], row[9], concerns[k]])
    sex = "female"
    birth = today.replace(year=today.year - 3, day=min(today.day, 28)) - dt.timedelta(days=rng.randint(30, 300))
    father = rng.choice(MALE_GIVEN)
    rows.append(["HR-003", "", surname(rng.choice(SURNAME_ROOTS), sex), rng.choice(FEMALE_GIVEN), patronymic(father, sex),
                 birth.strftime("%d.%m.%Y"), "F", region.name_ky, ctx.demo_district.name_ky,
                 home.name_ky if home != ctx.demo_district else "", concerns[2]])
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    outcome = services.import_file(
        officer, source=source, file_name=f"health-referrals-{ctx.demo_district.code}-{today:%Y-%m}.csv",
        data=buf.getvalue().encode("utf-8"), legal_basis="agreement",
        legal_reference="Саламаттык сактоо жана социалдык коргоо органдарынын ортосундагы маалымат алмашуу макулдашуусу",
        purpose="out-of-school")
    if not outcome.committed:
        return None
    services.link_batch(officer, outcome.batch)
    outcome.batch.refresh_from_db()
    return outcome.batch
