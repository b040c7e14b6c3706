"""The summary table: built set-based, replaced atomically, never presented stale as current."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import translation

from birge.core.roles import Role
from birge.learners import services as learner_services
from birge.learners.models import Learner
from birge.monitoring import definitions, engine, periods, scope, summary
from birge.monitoring.models import Indicator, LearnerCube, SummaryRefresh

from .conftest import period

pytestmark = pytest.mark.django_db


def _e2(mode="auto", p=None):
    return engine.compute(Indicator.objects.get(code="E2"), p or period(), [], scope.national(), mode=mode)


def test_refresh_builds_one_current_summary_per_period(dataset):
    first = summary.refresh(period())
    assert first.status == "done" and first.learners == 25 and first.rows > 0
    assert first.classifier_version == "soate-2025" and first.reference_date == dt.date(2026, 8, 31)
    assert summary.state(period()).fresh
    second = summary.refresh(period())
    assert SummaryRefresh.objects.filter(period="2025-2026").count() == 1
    assert not LearnerCube.objects.filter(refresh_id=first.pk).exists()
    assert LearnerCube.objects.filter(refresh_id=second.pk).count() == second.rows


def test_auto_mode_uses_a_fresh_summary_and_shows_when_it_was_built(dataset):
    build = summary.refresh(period())
    res = _e2()
    assert res.source == "summary" and res.as_of == build.finished_at and not res.stale
    assert (res.rows[0].numerator, res.rows[0].denominator) == (9, 20)


def test_a_new_record_makes_the_summary_stale(dataset):
    summary.refresh(period())
    Learner.objects.create(first_name="new", sex="female", birth_date=dt.date(2015, 1, 1), territory=dataset.learners["a1"].territory)
    st = summary.state(period())
    assert st.stale and "records" in st.reasons


def test_a_changed_record_makes_the_summary_stale(dataset, cast):
    summary.refresh(period())
    enrolment = dataset.learners["a4"].enrolments.get()
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    learner_services.update_enrolment(coordinator, enrolment, form="home")  # audited change, no new row
    st = summary.state(period())
    assert st.stale and st.reasons == ["records"]


def test_changed_definitions_make_the_summary_stale(dataset, monkeypatch):
    summary.refresh(period())
    monkeypatch.setattr(summary, "layout_signature", lambda: "something else")
    assert summary.state(period()).reasons == ["definitions"]


def test_a_running_period_goes_stale_when_the_day_changes(dataset):
    p = periods.school_year(2026, today=dt.date(2026, 11, 24))
    summary.refresh(p)
    assert summary.state(p).fresh
    tomorrow = periods.school_year(2026, today=dt.date(2026, 11, 25))
    assert "reference-date" in summary.state(tomorrow).reasons


def test_stale_small_data_is_recomputed_live(dataset):
    summary.refresh(period())
    Learner.objects.create(first_name="new", sex="female", birth_date=dt.date(2015, 1, 1), territory=dataset.learners["a1"].territory)
    res = _e2()
    assert res.source == "live" and not res.stale


def test_stale_large_data_is_shown_marked_not_current_and_a_refresh_is_queued(dataset, settings, monkeypatch):
    settings.BIRGE_MONITORING_LIVE_LIMIT = 0
    queued = []
    monkeypatch.setattr("birge.monitoring.tasks.request_refresh", lambda p: queued.append(p.code))
    build = summary.refresh(period())
    Learner.objects.create(first_name="new", sex="female", birth_date=dt.date(2015, 1, 1), territory=dataset.learners["a1"].territory)
    res = _e2()
    assert res.source == "summary" and res.stale and res.as_of == build.finished_at and res.stale_reasons == ["records"]
    assert queued == ["2025-2026"]
    from birge.monitoring import present

    with translation.override("en"):  # the texts are checked in English; Kyrgyz is the default
        assert "not current" in present.as_of_text(res).lower()


def test_missing_summary_of_large_data_is_not_computed_never_zero(dataset, settings, monkeypatch):
    settings.BIRGE_MONITORING_LIVE_LIMIT = 0
    monkeypatch.setattr("birge.monitoring.tasks.request_refresh", lambda p: True)
    res = _e2()
    assert res.status == "not-computed" and res.rows == [] and res.message


def test_cached_results_follow_the_build(dataset):
    summary.refresh(period())
    assert _e2().rows[0].numerator == 9
    LearnerCube.objects.all().update(n=0)  # a cached result is tied to its build: the same build, the same figures
    assert _e2(mode="summary").rows[0].numerator == 9
    summary.refresh(period())
    assert _e2(mode="summary").rows[0].numerator == 9


def test_refresh_task_and_request_once(dataset, settings, django_capture_on_commit_callbacks):
    from birge.monitoring import tasks

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}  # resets the backends
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.request_refresh(period()) is True
        assert tasks.request_refresh(period()) is False  # asked once, not once per page view
    assert SummaryRefresh.objects.filter(period="2025-2026", status="done").exists()
    custom = periods.parse("2025-09-01..2026-05-31", today=period().today)
    assert tasks.request_refresh(custom) is False  # date ranges are built on request only


def test_command_loads_refreshes_lists_and_computes(dataset, capsys):
    with translation.override("en"):  # the texts are checked in English; Kyrgyz is the default
        call_command("indicators", "refresh", "--period", "2025-2026")
        call_command("indicators", "refresh", "--period", "2025-2026", "--if-stale")
        call_command("indicators", "list")
        call_command("indicators", "compute", "E2", "--period", "2025-2026", "--by", "sex", "--internal")
    out = capsys.readouterr().out
    assert "2025-2026: 25 learners" in out and "current, skipped" in out
    assert '"numerator": 4' in out and "E1 " in out and "not available" in out.lower()


def test_flag_bits_are_unique_and_the_layout_names_them():
    bits = definitions.FLAG_BITS
    assert len(set(bits.values())) == len(bits) and max(bits.values()) < 63
    assert len(definitions.layout_signature()) == 64


def test_live_results_are_cached_until_a_record_changes(dataset, cast, django_assert_max_num_queries):
    import datetime as dt2

    from django.utils import timezone

    from birge.core.roles import OrgKind
    from birge.referrals.models import Referral

    p1 = Indicator.objects.get(code="P1")
    assert engine.compute(p1, period(), [], scope.national()).rows[0].value == 25
    with django_assert_max_num_queries(3):  # the fingerprint, no recomputation
        assert engine.compute(p1, period(), [], scope.national()).rows[0].value == 25
    Referral.objects.create(learner=dataset.learners["a5"], receiving_organization=cast.a.orgs[OrgKind.PMPK_TERRITORIAL],
                            state="concluded", submitted_at=timezone.make_aware(dt2.datetime(2026, 4, 1, 9)),
                            concluded_at=timezone.make_aware(dt2.datetime(2026, 5, 1, 9)))
    res = engine.compute(p1, period(), [], scope.national())
    assert (res.rows[0].numerator, res.rows[0].value) == (5, 30)  # 10 20 30 30 44


def test_a_new_meaning_of_the_flags_makes_old_summaries_stale(dataset, monkeypatch):
    summary.refresh(period())
    assert summary.state(period()).fresh
    monkeypatch.setattr(definitions, "FLAGS_REVISION", definitions.FLAGS_REVISION + 1)
    assert summary.state(period()).reasons == ["definitions"]
