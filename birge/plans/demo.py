"""Synthetic individual plans for ``birge demo`` (runs after the assessments demo).

At ``demo-school-coordinator``'s school, for the learners whose PMPK conclusion the family released
to the school, the demo coordinator builds plans through the services (so the rules, the clocks and
the audit trail are the real ones), leaving one plan in each state:

- demo-parent's child: proposed, waiting for the parent's agreement in the system;
- active (in force for some weeks), active with a review recorded, under review, amended (version 1
  replaced by version 2), agreed (not yet in force), a draft, and a closed plan.

When fewer conclusions were released than states to show, the remaining plans rest on the school's
own basis (learners with a disability status). Deterministic from the seed.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db.models import Q
from django.utils import timezone

from birge.core.roles import Role
from birge.learners.models import Assignment, DisabilityStatus, Enrolment, GuardianLink, Learner

from . import clocks, services
from .models import IndividualPlan, PlanState

# Who gives each catalogue service at the school (demo users by role); others go to a resource centre.
PROVIDER_ROLE = {
    "speech-therapy": Role.SPEECH_THERAPIST, "typhlopedagogy": Role.TYPHLOPEDAGOGUE, "surdopedagogy": Role.SURDOPEDAGOGUE,
    "special-pedagogy": Role.SPECIAL_PEDAGOGUE, "psychological-support": Role.PSYCHOLOGIST,
    "social-pedagogy": Role.SOCIAL_PEDAGOGUE, "tutor": Role.TUTOR, "assistant": Role.TUTOR,
    "family-counselling": Role.PSYCHOLOGIST,
}
GOALS = [
    {"area": "communication", "description": "Кыска сүйлөм менен жардам сурайт", "baseline": "Колу менен көрсөтөт же унчукпайт",
     "target": "Сабакта үч сөздөн турган сүйлөм колдонот", "measure": "Мугалимдин жумалык байкоосу",
     "criteria": "Катары менен төрт жума"},
    {"area": "academic", "description": "Читает короткий текст с картинками", "baseline": "Читает по слогам отдельные слова",
     "target": "Читает текст из 5 предложений и отвечает на 2 вопроса", "measure": "Проверка чтения раз в месяц",
     "criteria": "3 проверки подряд без подсказки"},
    {"area": "social", "description": "Тыныгууда классташтары менен ойнойт", "baseline": "Тыныгууда жалгыз турат",
     "target": "Жумасына 3 жолу топтук оюнга кошулат", "measure": "Тьютордун күндөлүгү", "criteria": "Бир ай бою"},
    {"area": "self-care", "description": "Самостоятельно готовит рабочее место", "baseline": "Нужна помощь взрослого",
     "target": "Раскладывает учебники и пенал по визуальной схеме", "measure": "Наблюдение тьютора",
     "criteria": "4 дня из 5 в течение месяца"},
    {"area": "motor", "description": "Калем менен сызык боюнча жазат", "baseline": "Сызыктан чыгып кетет",
     "target": "Тамгаларды сызыктын ичинде жазат", "measure": "Жазуу үлгүлөрү", "criteria": "Үлгүлөрдүн 80%ы"},
]
STATES = ["active", "reviewed", "under-review", "amended", "agreed", "draft", "closed"]


def _school_of(user):
    membership = user.memberships.select_related("organization").filter(role=Role.SCHOOL_COORDINATOR).first()
    return membership.organization if membership else None


def _released_learners(school) -> list[Learner]:
    from .home import releases_without_plan

    seen, out = set(), []
    for release in releases_without_plan([school.pk]):
        learner = release.conclusion.learner
        if learner.pk not in seen and Enrolment.objects.filter(learner=learner, organization=school, status="active").exists():
            seen.add(learner.pk)
            out.append(learner)
    return out


def _own_basis_learners(school, exclude, n) -> list[Learner]:
    """Learners of the school with a legal representative: a disability status first, then the demo caseloads."""
    today = timezone.localdate()
    disabled = set(DisabilityStatus.objects.filter(closed_at__isnull=True).filter(
        Q(indefinite=True) | Q(ends_on__gte=today)).values_list("learner_id", flat=True))
    assigned = set(Assignment.objects.filter(organization=school, ends_on__isnull=True).values_list("learner_id", flat=True))
    with_guardian = GuardianLink.objects.filter(ends_on__isnull=True, is_legal_representative=True).values("learner_id")
    enrolled = Enrolment.objects.filter(organization=school, status="active", level="school").values("learner_id")
    qs = Learner.objects.filter(pk__in=enrolled, archived_at__isnull=True).filter(pk__in=with_guardian).exclude(pk__in=exclude)
    candidates = list(qs.order_by("pk")[:500])
    candidates.sort(key=lambda lr: (lr.pk not in disabled, lr.pk not in assigned, lr.pk))
    return candidates[:n]


def _provide(ctx, plan, coordinator, start):
    """Give every planned service a provider, minutes and a start."""
    region = plan.organization.territory.code[:5]
    from birge.core.models import Organization
    from birge.core.roles import OrgKind

    centre = Organization.objects.filter(kind=OrgKind.SPECIAL_SCHOOL, territory__code__startswith=region).first() or \
        Organization.objects.filter(kind=OrgKind.HEALTH_FACILITY, territory__code__startswith=region).first()
    for service in plan.services.select_related("catalogue"):
        role = PROVIDER_ROLE.get(service.catalogue.code)
        fields = {"starts_on": start, "minutes_per_week": service.minutes_per_week or 45}
        if role and ctx.users.get(role.value):
            fields["provider_user"] = ctx.users[role.value]
        elif centre is not None:
            fields["provider_organization"] = centre
        services.update_service(coordinator, service, lock_version=plan.lock_version, **fields)
        plan.refresh_from_db()
    if not plan.services.exists():
        speech = ctx.users.get(Role.SPEECH_THERAPIST.value)
        from birge.assessments.models import CatalogueItem

        services.add_service(coordinator, plan, lock_version=plan.lock_version, provider_user=speech, minutes_per_week=60,
                             starts_on=start, catalogue=CatalogueItem.objects.get(code="speech-therapy"))
        plan.refresh_from_db()


def _build(ctx, rng, coordinator, learner, start, own_basis=""):
    plan = services.create_plan(coordinator, learner, own_basis=own_basis,
                                review_on=timezone.localdate() + dt.timedelta(days=rng.randint(20, 80)))
    for goal in rng.sample(GOALS, 2):
        services.add_goal(coordinator, plan, lock_version=plan.lock_version, **{**goal, "review_on": plan.review_on})
    _provide(ctx, plan, coordinator, start)
    tutor = ctx.users.get(Role.TUTOR.value)
    if tutor is not None and rng.random() < 0.5:
        services.update_plan(coordinator, plan, lock_version=plan.lock_version, tutor=tutor,
                             timetable_notes="Логопед: шейшемби жана бейшемби, 3-сабактан кийин")
    return plan


def _agree(parent, coordinator, plan, today):
    guardian = services.guardian_of(parent, plan.learner)
    if guardian is not None:
        services.agree(parent, plan, lock_version=plan.lock_version, method="in-system")
        return
    family = services.legal_representatives(plan.learner)
    if family:
        services.agree(coordinator, plan, lock_version=plan.lock_version, method="paper", guardian=family[0], agreed_on=today)
    else:
        services.agree(coordinator, plan, lock_version=plan.lock_version, method="not-obtained",
                       note="Үй-бүлө үч чакырууга келген жок; кызматтар баланын кызыкчылыгында башталат")


def _in_force(ctx, rng, coordinator, parent, learner, start, own_basis=""):
    plan = _build(ctx, rng, coordinator, learner, start, own_basis)
    services.propose(coordinator, plan, lock_version=plan.lock_version)
    _agree(parent, coordinator, plan, timezone.localdate())
    services.activate(coordinator, plan, lock_version=plan.lock_version, effective_from=start)
    plan.refresh_from_db()
    return plan


def generate(ctx):
    # Notifications are written in the app as usual; no e-mail goes to synthetic people.
    with clocks.without_email():
        _generate(ctx)


def _generate(ctx):
    coordinator = ctx.users.get(Role.SCHOOL_COORDINATOR.value)
    parent = ctx.users.get(Role.PARENT.value)
    if coordinator is None or parent is None or IndividualPlan.objects.exists():
        return
    school = _school_of(coordinator)
    if school is None:
        return
    rng = random.Random(f"{ctx.seed}-plans")
    today = timezone.localdate()
    released = _released_learners(school)
    featured = [lr for lr in released if services.guardian_of(parent, lr) is not None and
                Enrolment.objects.filter(learner=lr, organization=school, status="active", level="school").exists()]
    if not featured:  # the family did not release a conclusion to the school: the school's own basis
        children = Learner.objects.filter(guardian_links__guardian__user=parent, enrolments__organization=school,
                                          enrolments__status="active", enrolments__level="school").distinct()
        featured = [lr for lr in children if services.open_plan(lr, school) is None][:1]
        featured_basis = "Мектептин инклюзия тобунун байкоосу жана үй-бүлөнүн өтүнүчү"
    else:
        featured_basis = ""
    others = [lr for lr in released if lr not in featured]
    basis = [(lr, "") for lr in others]
    if len(basis) < len(STATES):
        extra = _own_basis_learners(school, [lr.pk for lr in released + featured], len(STATES) - len(basis))
        basis += [(lr, "Мектептин инклюзия тобунун байкоосу жана үй-бүлөнүн өтүнүчү; ПМПК корутундусу күтүлүүдө")
                  for lr in extra]
    made = {}
    # demo-parent's child: proposed, waiting for the parent's agreement.
    for learner in featured[:1]:
        plan = _build(ctx, rng, coordinator, learner, today, featured_basis)
        services.propose(coordinator, plan, lock_version=plan.lock_version)
        made["proposed"] = plan
    for state, (learner, own_basis) in zip(STATES, basis):
        weeks = rng.randint(8, 16)
        start = today - dt.timedelta(weeks=weeks)
        if state == "draft":
            made[state] = _build(ctx, rng, coordinator, learner, today, own_basis)
            continue
        if state == "agreed":
            plan = _build(ctx, rng, coordinator, learner, today, own_basis)
            services.propose(coordinator, plan, lock_version=plan.lock_version)
            _agree(parent, coordinator, plan, today)
            made[state] = plan
            continue
        plan = _in_force(ctx, rng, coordinator, parent, learner, start, own_basis)
        if state in ("reviewed", "under-review", "closed"):
            services.start_review(coordinator, plan, lock_version=plan.lock_version)
        if state == "reviewed":
            progress = [{"goal": g, "rating": rng.choice(["some", "good"]), "comment": "Жакшы өнүгүү байкалат"}
                        for g in plan.goals.all()]
            services.record_review(coordinator, plan, lock_version=plan.lock_version, held_on=today - dt.timedelta(days=2),
                                   decision="continue", progress=progress, family_present=True,
                                   summary="Команда жана үй-бүлө планды улантууну чечти",
                                   next_review_on=today + dt.timedelta(days=90))
        elif state == "closed":
            progress = [{"goal": g, "rating": "achieved", "comment": ""} for g in plan.goals.all()]
            services.record_review(coordinator, plan, lock_version=plan.lock_version, held_on=today - dt.timedelta(days=1),
                                   decision="close", progress=progress,
                                   summary="Максаттарга жетишилди; бала кошумча колдоосуз окуйт")
        elif state == "amended":
            plan.refresh_from_db()
            new = services.amend(coordinator, plan, lock_version=plan.lock_version,
                                 effective_from=today - dt.timedelta(weeks=2),
                                 reason="Логопеддик сабактар жумасына 90 мүнөткө көбөйтүлдү")
            for service in new.services.all():
                services.update_service(coordinator, service, lock_version=new.lock_version,
                                        minutes_per_week=(service.minutes_per_week or 45) + 30)
                new.refresh_from_db()
            services.propose(coordinator, new, lock_version=new.lock_version)
            _agree(parent, coordinator, new, today)
            services.activate(coordinator, new, lock_version=new.lock_version)
        made[state] = plan
    counts = {}
    for plan in IndividualPlan.objects.filter(organization=school):
        counts[plan.state] = counts.get(plan.state, 0) + 1
    ctx.progress("plans: " + ", ".join(f"{PlanState(k).label} {v}" for k, v in sorted(counts.items())) + f" at {school}")
