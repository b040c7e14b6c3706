"""Early identification: a concern about a child under four opens an early-intervention referral;
observations and documents on a referral; bad input saves nothing."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from birge.core.deadline_models import Clock, Deadline
from birge.core.roles import OrgKind, Role
from birge.referrals import services
from birge.referrals.models import Attachment, Concern, Observation, Referral, State

NOTICED = {"walking": "Does not walk without support at 24 months.", "speech-language": "Says only two words."}
PDF = b"%PDF-1.4\n%%EOF\n"


def _record(user, learner, **overrides):
    data = {"noticed_on": timezone.localdate() - dt.timedelta(days=1), "place": "health-facility", "noticed": NOTICED}
    data.update(overrides)
    return services.record_concern(user, learner, **data)


def test_a_concern_opens_an_early_intervention_referral(cast, young, early_service):
    health = cast.a.users[Role.HEALTH_WORKER]
    concern = _record(health, young, place_detail="FMC No. 2")
    assert concern.reporter == Concern.Reporter.HEALTH_WORKER
    assert concern.organization == cast.a.orgs[OrgKind.HEALTH_FACILITY]
    referral = concern.referral
    assert referral.kind == Referral.Kind.EARLY_INTERVENTION and referral.state == State.SUBMITTED
    assert referral.receiving_organization == early_service  # the early-intervention service of the district first
    assert "Walking and moving" in referral.reason and "Says only two words." in referral.reason
    clock = Deadline.objects.for_object(referral).get()
    assert clock.clock == Clock.REFERRAL_ACKNOWLEDGE and clock.owner_organization == early_service
    # A second concern joins the open referral instead of opening another.
    again = _record(health, young, noticed={"hearing": "Does not turn to sounds."})
    assert again.referral == referral and Referral.objects.count() == 1
    # The receiving service's staff see the concern and the referral.
    from birge.core.models import Membership

    ei_staff = type(health).objects.create_user("ei-coordinator", password="x" * 12)
    Membership.objects.create(user=ei_staff, role=Role.SCHOOL_COORDINATOR, organization=early_service,
                              starts_on=timezone.localdate() - dt.timedelta(days=1))
    assert Concern.objects.visible_to(ei_staff).count() == 2
    assert services.allowed_transitions(ei_staff, referral)[0].name == "accept"


def test_without_a_service_it_goes_to_the_pmpk(cast, young):
    concern = _record(cast.a.users[Role.HEALTH_WORKER], young)
    assert concern.referral.receiving_organization == cast.a.orgs[OrgKind.PMPK_TERRITORIAL]


@pytest.mark.parametrize("role, reporter", [
    (Role.PARENT, Concern.Reporter.PARENT),
    (Role.SOCIAL_PROTECTION_OFFICER, Concern.Reporter.SOCIAL_WORKER),
    (Role.LOCAL_GOVERNMENT_OFFICER, Concern.Reporter.LOCAL_GOVERNMENT),
])
def test_who_noticed(cast, young, role, reporter):
    concern = _record(cast.a.users[role], young, place="home")
    assert concern.reporter == reporter
    if role == Role.PARENT:
        assert concern.referral.by_parent and concern.referral.referring_organization is None


def test_kindergarten_staff(cast, young):
    from birge.core.models import Membership, Organization
    from birge.learners.models import Enrolment

    kindergarten = Organization.objects.create(kind=OrgKind.KINDERGARTEN, code="T-a-kg", name="Kindergarten A",
                                               territory=cast.a.district)
    teacher = type(cast.outsider).objects.create_user("kg-teacher", password="x" * 12)
    Membership.objects.create(user=teacher, role=Role.TEACHER, organization=kindergarten,
                              starts_on=timezone.localdate() - dt.timedelta(days=1))
    Enrolment.objects.create(learner=young, organization=kindergarten, level="kindergarten", starts_on=timezone.localdate())
    concern = _record(teacher, young, place="kindergarten")
    assert concern.reporter == Concern.Reporter.KINDERGARTEN and concern.organization == kindergarten


def test_out_of_reach_and_no_role(cast, young):
    for user in (cast.b.users[Role.HEALTH_WORKER], cast.outsider, cast.a.users[Role.DISTRICT_OFFICER],
                 cast.a.users[Role.PMPK_CHAIR]):
        with pytest.raises(PermissionDenied):
            _record(user, young)
    assert not Concern.objects.exists() and not Referral.objects.exists()


@pytest.mark.parametrize("overrides, field", [
    ({"noticed_on": None}, "noticed_on"),
    ({"noticed_on": timezone.localdate() + dt.timedelta(days=2)}, "noticed_on"),
    ({"noticed_on": dt.date(2000, 1, 1)}, "noticed_on"),  # before birth
    ({"place": "moon"}, "place"),
    ({"noticed": {}}, "noticed"),
    ({"noticed": {"walking": "   "}}, "noticed"),
    ({"noticed": {"flying": "Cannot fly"}}, "noticed"),
    ({"noticed": "not a map"}, "noticed"),
])
def test_bad_input_saves_nothing(cast, young, overrides, field):
    with pytest.raises(ValidationError) as exc:
        _record(cast.a.users[Role.HEALTH_WORKER], young, **overrides)
    assert field in exc.value.message_dict
    assert not Concern.objects.exists() and not Referral.objects.exists() and not Deadline.objects.exists()


def test_only_children_under_four(cast, placed):
    health = cast.a.users[Role.PARENT]
    with pytest.raises(ValidationError) as exc:
        _record(health, placed["a"].learner)  # born 2015
    assert "learner" in exc.value.message_dict


# --- observations and documents ------------------------------------------------------------------------------


def test_teachers_add_observations_while_draft_or_submitted(cast, make_referral):
    referral = make_referral("a", "draft")
    teacher = cast.a.users[Role.TEACHER]
    obs = services.add_observation(teacher, referral, domain="learning", text="Reads syllables, not words.",
                                   strengths="Good memory for songs")
    assert obs.organization == cast.a.orgs[OrgKind.SCHOOL] and obs.observed_by == teacher
    for domain, text, field in (("nonsense", "x", "domain"), ("learning", "  ", "text")):
        with pytest.raises(ValidationError) as exc:
            services.add_observation(teacher, referral, domain=domain, text=text)
        assert field in exc.value.message_dict
    with pytest.raises(PermissionDenied):  # a specialist reads referrals but does not write them
        services.add_observation(cast.a.users[Role.PSYCHOLOGIST], referral, domain="learning", text="x")
    with pytest.raises(PermissionDenied):
        services.add_observation(cast.b.users[Role.TEACHER], referral, domain="learning", text="x")
    services.submit(cast.a.users[Role.SCHOOL_COORDINATOR], referral)
    services.add_observation(teacher, referral, domain="communication", text="Speaks little in class.")
    services.accept(cast.a.users[Role.PMPK_CHAIR], referral)
    with pytest.raises(ValidationError) as exc:
        services.add_observation(teacher, referral, domain="learning", text="Too late")
    assert "state" in exc.value.message_dict
    assert Observation.objects.filter(referral=referral).count() == 2


@pytest.mark.parametrize("name, content, ok", [
    ("report.pdf", PDF, True),
    ("scan.PNG", b"\x89PNG\r\n\x1a\n" + b"0" * 20, True),
    ("photo.jpg", b"\xff\xd8\xff\xe0" + b"0" * 20, True),
    ("virus.exe", b"MZ" + b"0" * 20, False),
    ("fake.pdf", b"<html>not a pdf</html>", False),
    ("empty.pdf", b"", False),
])
def test_attachments_are_checked(cast, make_referral, settings, name, content, ok):
    referral = make_referral("a", "submitted")
    upload = SimpleUploadedFile(name, content)
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    if ok:
        att = services.add_attachment(coordinator, referral, file=upload, description="From the school")
        assert att.original_name == name and att.size == len(content)
        assert (settings.MEDIA_ROOT / att.file.name).exists()
    else:
        with pytest.raises(ValidationError) as exc:
            services.add_attachment(coordinator, referral, file=upload)
        assert "file" in exc.value.message_dict
        assert not Attachment.objects.exists()
        assert not list((settings.MEDIA_ROOT).rglob("*.*")) if settings.MEDIA_ROOT.exists() else True


def test_attachment_size_limit_and_states(cast, make_referral, monkeypatch):
    referral = make_referral("a", "concluded", consent=True)
    with pytest.raises(ValidationError) as exc:
        services.add_attachment(cast.a.users[Role.PMPK_CHAIR], referral, file=SimpleUploadedFile("a.pdf", PDF))
    assert "state" in exc.value.message_dict
    other = make_referral("b", "draft")
    monkeypatch.setattr(services, "ATTACHMENT_MAX_BYTES", 5)
    with pytest.raises(ValidationError) as exc:
        services.add_attachment(cast.b.users[Role.SCHOOL_COORDINATOR], other, file=SimpleUploadedFile("a.pdf", PDF))
    assert "file" in exc.value.message_dict
