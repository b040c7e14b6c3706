"""Deterministic synthetic demo data for the core: territory, organizations, people.

Scales follow the proportions of shared/reference/territory.md (about 2,400
schools, 2,000 kindergartens, 1.6 million children nationally). Apps add their
own records through a ``demo.py`` with ``generate(ctx)``; ``birge demo`` runs
them in the order of the child's path.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import make_password

from .models import ClassifierVersion, Membership, Organization, Territory, User
from .roles import OrgKind, Role
from .territory import load_reference

SYNTHETIC_VERSION = "soate-2025"
DEMO_DISTRICT = "41708222000000"  # Sokuluk District, Chüy: where demo-* staff work


@dataclass(frozen=True)
class Scale:
    name: str
    districts: str  # "demo" (3 districts), "region" (Chüy) or "all"
    schools_per_district: int
    kindergartens_per_district: int
    learners: int


SCALES = {
    "small": Scale("small", "demo", 5, 3, 2_500),
    "district": Scale("district", "demo", 40, 25, 40_000),
    "region": Scale("region", "region", 30, 25, 200_000),
    "national": Scale("national", "all", 0, 0, 1_600_000),  # schools spread by national totals
}
NATIONAL_SCHOOLS, NATIONAL_KINDERGARTENS = 2_400, 2_000


@dataclass
class DemoContext:
    scale: Scale
    seed: int
    rng: random.Random
    progress: callable
    districts: list = field(default_factory=list)
    municipalities: dict = field(default_factory=dict)  # district id -> [Territory]
    orgs: dict = field(default_factory=dict)  # kind -> [Organization]
    orgs_by_district: dict = field(default_factory=dict)  # (district id, kind) -> [Organization]
    users: dict = field(default_factory=dict)  # role slug -> User
    demo_district: Territory | None = None


def weighted(rng, pairs):
    """One value of ``[(value, weight), …]`` drawn with ``rng`` (the same draw on every run of a seed)."""
    total = sum(w for _v, w in pairs)
    x = rng.random() * total
    for value, w in pairs:
        x -= w
        if x < 0:
            return value
    return pairs[-1][0]


def _demo_districts(scale: Scale) -> list[Territory]:
    districts = Territory.objects.current().filter(level__in=Territory.DISTRICT_LEVELS).order_by("code")
    if scale.districts == "demo":
        return list(districts.filter(code__in=[DEMO_DISTRICT, "41708203000000", "41711201000000"]))
    if scale.districts == "region":
        return list(districts.filter(code__startswith="41708"))
    return list(districts) + list(Territory.objects.current().filter(code="41721000000000"))


AIYL_NAMES = ["Ак-Жар", "Кара-Булак", "Көк-Жар", "Ак-Суу", "Жаңы-Жол", "Кызыл-Туу", "Таш-Дөбө", "Арал", "Чоң-Таш",
              "Төрт-Күл", "Үч-Коргон", "Сары-Булуң", "Кең-Сай", "Алтын-Бешик"]
RU_AIYL = {"Ак-Жар": "Ак-Джар", "Кара-Булак": "Кара-Булак", "Көк-Жар": "Кок-Джар", "Ак-Суу": "Ак-Суу", "Жаңы-Жол": "Джаны-Джол",
           "Кызыл-Туу": "Кызыл-Туу", "Таш-Дөбө": "Таш-Добо", "Арал": "Арал", "Чоң-Таш": "Чон-Таш", "Төрт-Күл": "Торт-Куль",
           "Үч-Коргон": "Уч-Коргон", "Сары-Булуң": "Сары-Булун", "Кең-Сай": "Кен-Сай", "Алтын-Бешик": "Алтын-Бешик"}


def _municipalities(ctx: DemoContext, district: Territory) -> list[Territory]:
    existing = list(Territory.objects.filter(parent=district, is_synthetic=True))
    if existing or district.level == Territory.Level.CITY_DISTRICT or district.level == Territory.Level.CITY_REPUBLICAN:
        return existing or [district]
    rng = random.Random(f"{ctx.seed}-{district.code}")
    names = rng.sample(AIYL_NAMES, 4)
    out = []
    for i, name in enumerate(names):
        code = district.code[:8] + f"{800 + i * 5:03d}" + "000"
        out.append(Territory.objects.create(
            code=code, level=Territory.Level.AIYL_AIMAK, parent=district, version=district.version,
            valid_from=district.valid_from, is_synthetic=True,
            name_ky=f"{name} айыл аймагы (демо)", name_ru=f"{RU_AIYL[name]} айыльный аймак (демо)",
            name_en=f"{RU_AIYL[name]} aiyl aimak (demo)",
        ))
    return out


KIND_LABEL_KY = {
    OrgKind.SCHOOL: ("мектеп", "школа", "school"),
    OrgKind.KINDERGARTEN: ("бала бакча", "детский сад", "kindergarten"),
    OrgKind.SPECIAL_SCHOOL: ("атайын мектеп — ресурстук борбор", "специальная школа — ресурсный центр", "special school"),
    OrgKind.BOARDING_SCHOOL: ("мектеп-интернат", "школа-интернат", "boarding school"),
    OrgKind.EARLY_INTERVENTION: ("эрте кийлигишүү кызматы", "служба ранней помощи", "early-intervention service"),
    OrgKind.VOCATIONAL_PRIMARY: ("кесиптик лицей", "профессиональный лицей", "vocational lyceum"),
    OrgKind.VOCATIONAL_SECONDARY: ("колледж", "колледж", "college"),
    OrgKind.UNIVERSITY: ("университет", "университет", "university"),
    OrgKind.PMPK_TERRITORIAL: ("аймактык ПМПК", "территориальная ПМПК", "territorial PMPK"),
    OrgKind.HEALTH_FACILITY: ("үй-бүлөлүк медицина борбору", "центр семейной медицины", "family medicine centre"),
    OrgKind.SOCIAL_PROTECTION: ("социалдык өнүктүрүү башкармалыгы", "управление социального развития", "social development office"),
    OrgKind.LOCAL_GOVERNMENT: ("айыл өкмөтү", "айыл окмоту", "aiyl okmotu"),
    OrgKind.DISTRICT_EDUCATION: ("райондук билим берүү бөлүмү", "районный отдел образования", "district education department"),
}


def _org(ctx, kind, territory, name_ky, name_ru, seq, languages="ky,ru"):
    code = f"DEMO-{kind[:4].upper()}-{territory.code[2:11]}-{seq:04d}"
    return Organization(kind=kind, code=code, name=name_ky, name_ru=name_ru, territory=territory, languages=languages,
                        address=f"{territory.name_ky}, {ctx.rng.randint(1, 120)}-көчө", is_synthetic=True,
                        phone=f"+996 3{ctx.rng.randint(10, 99)} {ctx.rng.randint(100000, 999999)}")


def _build_orgs(ctx: DemoContext):
    if Organization.objects.filter(is_synthetic=True).exists():
        for org in Organization.objects.filter(is_synthetic=True).select_related("territory"):
            ctx.orgs.setdefault(org.kind, []).append(org)
            district = org.territory.district_id or org.territory_id
            ctx.orgs_by_district.setdefault((district, org.kind), []).append(org)
        return
    new: list[Organization] = []
    national = ctx.scale.districts == "all"
    n = len(ctx.districts)
    per_school = max(1, round(NATIONAL_SCHOOLS / n)) if national else ctx.scale.schools_per_district
    per_kg = max(1, round(NATIONAL_KINDERGARTENS / n)) if national else ctx.scale.kindergartens_per_district
    seq = 0
    regions_done = set()
    for d in ctx.districts:
        munis = ctx.municipalities[d.pk]
        dname = d.name_ky.replace(" району", "").replace(" шаары", "")
        dname_ru = d.name_ru
        for i in range(per_school):
            seq += 1
            t = munis[i % len(munis)]
            new.append(_org(ctx, OrgKind.SCHOOL, t, f"{dname} №{i + 1} {KIND_LABEL_KY[OrgKind.SCHOOL][0]} (демо)",
                            f"{KIND_LABEL_KY[OrgKind.SCHOOL][1].capitalize()} №{i + 1}, {dname_ru} (демо)", seq,
                            ctx.rng.choice(["ky", "ky", "ky,ru", "ru", "uz,ky"])))
        for i in range(per_kg):
            seq += 1
            t = munis[i % len(munis)]
            new.append(_org(ctx, OrgKind.KINDERGARTEN, t, f"{dname} №{i + 1} {KIND_LABEL_KY[OrgKind.KINDERGARTEN][0]} (демо)",
                            f"{KIND_LABEL_KY[OrgKind.KINDERGARTEN][1].capitalize()} №{i + 1}, {dname_ru} (демо)", seq))
        for kind in (OrgKind.PMPK_TERRITORIAL, OrgKind.HEALTH_FACILITY, OrgKind.SOCIAL_PROTECTION,
                     OrgKind.DISTRICT_EDUCATION, OrgKind.EARLY_INTERVENTION):
            seq += 1
            ky, ru, _en = KIND_LABEL_KY[kind]
            new.append(_org(ctx, kind, d, f"{dname} {ky} (демо)", f"{ru.capitalize()}, {dname_ru} (демо)", seq))
        for t in munis:
            seq += 1
            ky, ru, _en = KIND_LABEL_KY[OrgKind.LOCAL_GOVERNMENT]
            new.append(_org(ctx, OrgKind.LOCAL_GOVERNMENT, t, f"{t.name_ky.replace(' айыл аймагы', '')} {ky}",
                            f"{ru.capitalize()} {t.name_ru.replace(' айыльный аймак', '')}", seq))
        region = d.region or d
        if region.pk not in regions_done:
            regions_done.add(region.pk)
            for kind, label in ((OrgKind.REGIONAL_EDUCATION, ("облустук билим берүү башкармалыгы", "областное управление образования")),
                                (OrgKind.SPECIAL_SCHOOL, KIND_LABEL_KY[OrgKind.SPECIAL_SCHOOL][:2]),
                                (OrgKind.BOARDING_SCHOOL, KIND_LABEL_KY[OrgKind.BOARDING_SCHOOL][:2]),
                                (OrgKind.VOCATIONAL_SECONDARY, KIND_LABEL_KY[OrgKind.VOCATIONAL_SECONDARY][:2]),
                                (OrgKind.VOCATIONAL_PRIMARY, KIND_LABEL_KY[OrgKind.VOCATIONAL_PRIMARY][:2])):
                seq += 1
                rname = region.name_ky.replace(" облусу", "").replace(" шаары", "")
                where = region if kind == OrgKind.REGIONAL_EDUCATION else d  # a regional department reaches its region
                new.append(_org(ctx, kind, where, f"{rname} {label[0]} (демо)", f"{label[1].capitalize()}, {region.name_ru} (демо)", seq))
    capital = Territory.objects.get(code="41711201000000")
    for kind, ky, ru in ((OrgKind.MINISTRY, "Билим берүү жана илим министрлиги (демо)", "Министерство образования и науки (демо)"),
                         (OrgKind.PMPK_REPUBLICAN, "Республикалык ПМПК (демо)", "Республиканская ПМПК (демо)"),
                         (OrgKind.TESTING_CENTRE, "Баалоо жана окутуу методдору борбору (демо)", "Центр оценки в образовании и методов обучения (демо)"),
                         (OrgKind.UNIVERSITY, "Бишкек мамлекеттик университети (демо)", "Бишкекский государственный университет (демо)")):
        seq += 1
        new.append(_org(ctx, kind, capital, ky, ru, seq))
    for org in new:
        org.search_key = org.make_search_key()  # bulk_create skips save()
    Organization.objects.bulk_create(new, batch_size=2000)
    ctx.progress(f"organizations: {len(new)}")
    _build_orgs(ctx)


def _first(ctx, kind, district=None):
    if district is not None:
        orgs = ctx.orgs_by_district.get((district.pk, kind))
        if kind == OrgKind.REGIONAL_EDUCATION:
            orgs = [o for o in ctx.orgs[kind] if o.territory_id == district.region_id]
        if orgs:
            return orgs[0]
    return ctx.orgs[kind][0]


def _build_users(ctx: DemoContext):
    password = make_password(settings.BIRGE_DEMO_PASSWORD)
    d = ctx.demo_district
    place = {
        Role.MINISTRY_ANALYST: _first(ctx, OrgKind.MINISTRY),
        Role.REGIONAL_OFFICER: _first(ctx, OrgKind.REGIONAL_EDUCATION, d),
        Role.DISTRICT_OFFICER: _first(ctx, OrgKind.DISTRICT_EDUCATION, d),
        Role.PMPK_CHAIR: _first(ctx, OrgKind.PMPK_TERRITORIAL, d),
        Role.PMPK_MEMBER: _first(ctx, OrgKind.PMPK_TERRITORIAL, d),
        Role.HEALTH_WORKER: _first(ctx, OrgKind.HEALTH_FACILITY, d),
        Role.SOCIAL_PROTECTION_OFFICER: _first(ctx, OrgKind.SOCIAL_PROTECTION, d),
        Role.LOCAL_GOVERNMENT_OFFICER: _first(ctx, OrgKind.LOCAL_GOVERNMENT, d),
        Role.TESTING_CENTRE_OFFICER: _first(ctx, OrgKind.TESTING_CENTRE),
        Role.SYSTEM_ADMIN: None,
        Role.PARENT: None,
    }
    school = _first(ctx, OrgKind.SCHOOL, d)
    for role in Role:
        if role.value not in {r.value for r in place}:
            place[role] = school
    full_names = {
        Role.MINISTRY_ANALYST: "Айгүл Токтогулова", Role.REGIONAL_OFFICER: "Нурлан Сыдыков", Role.DISTRICT_OFFICER: "Бермет Асанова",
        Role.PMPK_CHAIR: "Гүлзат Мамбетова", Role.PMPK_MEMBER: "Эрлан Жумабеков", Role.SCHOOL_COORDINATOR: "Чолпон Ормонова",
        Role.TEACHER: "Талант Бейшенов", Role.SPEECH_THERAPIST: "Назгүл Кадырова", Role.TYPHLOPEDAGOGUE: "Мээрим Эсенова",
        Role.SURDOPEDAGOGUE: "Улан Сагынов", Role.SPECIAL_PEDAGOGUE: "Жылдыз Алымбекова", Role.PSYCHOLOGIST: "Динара Садырова",
        Role.SOCIAL_PEDAGOGUE: "Мирлан Жолдошев", Role.TUTOR: "Айжан Өмүрбекова", Role.HEALTH_WORKER: "Асел Курманбекова",
        Role.SOCIAL_PROTECTION_OFFICER: "Бакыт Нурматов", Role.LOCAL_GOVERNMENT_OFFICER: "Жээнбек Осмонов",
        Role.TESTING_CENTRE_OFFICER: "Элнура Калыбекова", Role.PARENT: "Айпери Асан кызы", Role.SYSTEM_ADMIN: "Бекболот Темиров",
    }
    for role in Role:
        username = f"demo-{role.value}"
        user, created = User.objects.get_or_create(
            username=username, defaults={"password": password, "full_name": full_names[role], "email": f"{username}@example.org"}
        )
        if created:
            Membership.objects.create(user=user, role=role, organization=place[role])
        ctx.users[role.value] = user
    ctx.progress(f"demo users: {len(ctx.users)}")


def generate(ctx: DemoContext):
    load_reference()
    ctx.districts = _demo_districts(ctx.scale)
    ctx.demo_district = Territory.objects.current().get(code=DEMO_DISTRICT)
    for d in ctx.districts:
        ctx.municipalities[d.pk] = _municipalities(ctx, d)
    ctx.progress(f"territory: {len(ctx.districts)} districts, synthetic municipalities marked '(демо)'")
    _build_orgs(ctx)
    _build_users(ctx)


def classifier_version():
    return ClassifierVersion.objects.get(code=SYNTHETIC_VERSION)
