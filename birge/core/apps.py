from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "birge.core"
    label = "core"
    verbose_name = _("Core: territory, organizations, people")

    def ready(self):
        from . import checks, signals  # noqa: F401
        from . import navigation
        from .services import is_admin

        navigation.register(0, _("Home"), "home", lambda u: True)
        navigation.register(80, _("Organizations"), "organization-list", lambda u: True)
        navigation.register(85, _("Territory"), "territory-root", lambda u: True)
        navigation.register(90, _("People and roles"), "user-list", is_admin)
        navigation.register(95, _("Audit trail"), "audit-export", is_admin)
