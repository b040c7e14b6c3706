"""The learner's page shows the child's referrals and concerns, and offers a referral to those who may make one."""

import pytest
from django.urls import reverse

from birge.core.roles import Role

pytestmark = pytest.mark.django_db


def _page(client, user, learner):
    client.force_login(user)
    return client.get(reverse("learners:detail", args=[learner.pk]))


def test_coordinator_sees_the_referral_and_may_refer_once_it_is_closed(client, cast, placed, make_referral):
    learner = placed["a"].learner
    refer = f'{reverse("referrals:create")}?learner={learner.pk}'
    coordinator = cast.a.users[Role.SCHOOL_COORDINATOR]
    assert refer in _page(client, coordinator, learner).content.decode()
    referral = make_referral("a", state="submitted")
    response = _page(client, coordinator, learner)
    html = response.content.decode()
    assert response.status_code == 200
    assert referral.get_absolute_url() in html
    assert refer not in html  # one open PMPK referral at a time
    assert f'{reverse("referrals:concern-create")}?learner={learner.pk}' in html


def test_parent_sees_own_childs_referral(client, cast, placed, make_referral):
    referral = make_referral("a", state="submitted")
    response = _page(client, cast.a.users[Role.PARENT], placed["a"].learner)
    assert response.status_code == 200
    assert referral.get_absolute_url() in response.content.decode()


def test_no_section_for_a_role_without_referrals(client, cast, placed, make_referral):
    """The testing-centre officer reads no referral: no referral section, no link."""
    make_referral("a", state="submitted")
    user = cast.a.users[Role.TESTING_CENTRE_OFFICER]
    client.force_login(user)
    response = client.get(reverse("learners:detail", args=[placed["a"].learner.pk]))
    if response.status_code == 200:
        assert "referrals-title" not in response.content.decode()
    else:
        assert response.status_code == 404
