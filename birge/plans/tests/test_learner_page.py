"""The learner's page lists the child's individual plans and offers a new one to the school's coordinator."""

from django.urls import reverse

from .conftest import draft


def _html(client, user, learner):
    client.force_login(user)
    response = client.get(reverse("learners:detail", args=[learner.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_coordinator_is_offered_a_plan_then_sees_it(world, client):
    create = f'{reverse("plans:create")}?learner={world.learner.pk}'
    html = _html(client, world.coordinator, world.learner)
    assert 'id="plans-title"' in html and create in html
    plan = draft(world)
    html = _html(client, world.coordinator, world.learner)
    assert plan.get_absolute_url() in html and create not in html  # one plan in preparation at a time


def test_parent_is_never_offered_to_start_a_plan(world, client):
    html = _html(client, world.parent, world.learner)
    assert f'{reverse("plans:create")}?learner=' not in html
