from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LearnersConfig(AppConfig):
    name = "birge.learners"
    label = "learners"
    verbose_name = _("Learners")

    def ready(self):
        from birge.core import access, home, navigation
        from birge.core.access import Rec

        from . import policy  # noqa: F401  (registers with the access policy)

        navigation.register(10, _("Learners"), "learners:list", lambda u: access.can(u, "read", Rec.LEARNER))
        home.register(10, _home_section)


def _home_section(request):
    from birge.core import access
    from birge.core.access import Rec
    from birge.core.roles import Role

    from .models import Learner

    user = request.user
    if not access.can(user, "read", Rec.LEARNER):
        return None
    visible = Learner.objects.visible_to(user).filter(archived_at__isnull=True)
    if user.has_role(Role.PARENT) and len(user.role_set) == 1:
        return {"template": "learners/home_section.html", "parent": True, "children": list(visible.order_by("birth_date")[:20])}
    return {"template": "learners/home_section.html", "parent": False, "count": visible.count(),
            "can_create": access.can(user, "write", Rec.LEARNER)}
