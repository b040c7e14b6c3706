from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    name = "birge.plans"
    label = "plans"
    verbose_name = _("Individual education plans")

    def ready(self):
        from birge.core import access, home, learner_page, navigation
        from birge.core.access import Rec

        from . import home as plan_home
        from . import policy  # noqa: F401  (registers with the access policy)
        from .learner_page import section as learner_section

        navigation.register(50, _("Individual plans"), "plans:list", lambda u: access.can(u, "read", Rec.PLAN))
        home.register(50, plan_home.coordinator_section)
        home.register(51, plan_home.parent_section)
        learner_page.register(40, learner_section)
