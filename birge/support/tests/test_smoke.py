"""Every page of plans and support answers for every role: 200 with one h1, or 404 — never an error."""

import re

import pytest
from django.urls import reverse

from birge.core.roles import Role
from birge.plans.tests.conftest import active_plan
from birge.support import services
from birge.support.models import Handover, ServiceSession

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", list(Role))
def test_pages_answer_for_every_role(world, client, role):
    plan = active_plan(world)
    session = services.log_session(world.speech, learner=world.learner, plan_service=plan.services.get(),
                                   held_on=plan.effective_from, minutes=30)
    user = world.user("a", role)
    client.force_login(user)
    urls = [reverse("home"), reverse("plans:list"), reverse("plans:create"), reverse("plans:detail", args=[plan.pk]),
            reverse("plans:document", args=[plan.pk]), reverse("plans:review", args=[plan.pk]),
            reverse("plans:amend", args=[plan.pk]), reverse("support:index"), reverse("support:sessions"),
            reverse("support:session-log"), reverse("support:delivery"), reverse("support:handovers"),
            reverse("support:handover-create"), reverse("support:session-withdraw", args=[session.pk])]
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 302, 404), (url, response.status_code)
        if response.status_code == 200:
            html = response.content.decode()
            assert len(re.findall(r"<h1[ >]", html)) == 1, url
            assert 'lang="en"' in html
    assert ServiceSession.objects.count() == 1 and not Handover.objects.exists()
