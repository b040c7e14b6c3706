"""Exchange fixtures on top of the shared cast: placed children, agency sources, register files.

District A's learners (besides the placed child Асанов Бакыт, enrolled at A's school):

* Жээнбеков Сооронбай — with a PIN, enrolled;
* Осмонова Айпери — no enrolment, a disability status (out of school);
* Осмонов Эрлан and Осмонов Нурбек — twins without PINs, same father, same birth date.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.utils import translation

from birge.core.roles import OrgKind, Role
from birge.exchange import services
from birge.exchange.models import AgencyKind, ImportSource
from birge.learners.models import DisabilityStatus, Enrolment, Learner, Sex
from birge.learners.tests.conftest import place_child

HEADER = "id,pin,last_name,first_name,patronymic,birth_date,sex,region,district,settlement"


@pytest.fixture(autouse=True)
def _english(client):
    """Tests read English messages; the Kyrgyz and Russian catalogues are filled separately."""
    translation.activate("en")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def placed(cast):
    a = place_child(cast.a, pin="21503201512345", last_name="Асанов", first_name="Бакыт", patronymic="Асанович",
                    birth_date=dt.date(2015, 3, 15), sex=Sex.MALE)
    b = place_child(cast.b, pin="10107201500011", last_name="", first_name="Айгүл", patronymic="Мамбет кызы",
                    birth_date=dt.date(2015, 7, 1), sex=Sex.FEMALE)
    return {"a": a, "b": b}


@dataclass
class Learners:
    sooronbai: Learner
    aiperi: Learner
    erlan: Learner
    nurbek: Learner


@pytest.fixture
def learners(cast, placed) -> Learners:
    district = cast.a.district
    school = cast.a.orgs[OrgKind.SCHOOL]

    def make(**kw):
        return Learner.objects.create(territory=district, created_by_org=school, **kw)

    sooronbai = make(pin="21503201012345", last_name="Жээнбеков", first_name="Сооронбай", patronymic="Бакытович",
                     birth_date=dt.date(2010, 3, 15), sex=Sex.MALE)
    Enrolment.objects.create(learner=sooronbai, organization=school, level="school", grade=8, starts_on=dt.date(2017, 9, 1))
    aiperi = make(last_name="Осмонова", first_name="Айпери", patronymic="Талантовна", birth_date=dt.date(2014, 6, 2),
                  sex=Sex.FEMALE)
    DisabilityStatus.objects.create(learner=aiperi, category="child", starts_on=dt.date(2019, 1, 10), indefinite=True)
    erlan = make(last_name="Осмонов", first_name="Эрлан", patronymic="Осмонович", birth_date=dt.date(2012, 2, 10),
                 sex=Sex.MALE)
    nurbek = make(last_name="Осмонов", first_name="Нурбек", patronymic="Осмонович", birth_date=dt.date(2012, 2, 10),
                  sex=Sex.MALE)
    return Learners(sooronbai, aiperi, erlan, nurbek)


@pytest.fixture
def msek(db) -> ImportSource:
    return ImportSource.objects.create(name="MSEK register, Chüy", kind=AgencyKind.DISABILITY_REGISTER,
                                       column_mapping={"disability_category": "Категория"})


@pytest.fixture
def officer(cast):
    return cast.a.users[Role.SOCIAL_PROTECTION_OFFICER]


def csv_bytes(rows, header=HEADER, encoding="utf-8") -> bytes:
    return (header + "\n" + "".join(r + "\n" for r in rows)).encode(encoding)


# District A (Sokuluk) by name in Kyrgyz, Russian and Latin spellings.
REGISTER_ROWS = [
    # the placed child, exact on PIN
    "M1,21503201512345,Асанов,Бакыт,Асанович,15.03.2015,M,Чүй облусу,Сокулук району,",
    # Жээнбеков in Latin, no PIN: probabilistic
    "M2,,Zheenbekov,Sooronbay,Bakytovich,2010-03-15,M,Chuy,Sokuluk,",
    # Айпери, Kyrgyz naming form, legacy letters
    "M3,,Талант кызы,Айпери,,02.06.2014,F,Чуйская область,Сокулукский район,",
    # a twin of Эрлан and Нурбек with another given name: never automatic
    "M4,,Осмонов,Эркин,Осмонович,10.02.2012,M,Чүй,Сокулук,",
    # a child on no roster
    "M5,,Мамытова,Жылдыз,Бекболотовна,2016-11-20,F,Чүй,Сокулук,",
]


def import_register(officer, source, rows=None, name="msek.csv", **kw):
    params = dict(legal_basis="law", legal_reference="Decree No. 68 of 31 January 2012", purpose="out-of-school")
    params.update(kw)
    return services.import_file(officer, source=source, file_name=name, data=csv_bytes(rows or REGISTER_ROWS), **params)
