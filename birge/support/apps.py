from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    name = "birge.support"
    label = "support"
    verbose_name = _("Services delivered and continuity")

    def ready(self):
        from birge.core import access, home, navigation
        from birge.core.access import Rec

        from . import home as support_home
        from . import policy  # noqa: F401  (registers with the access policy)

        navigation.register(55, _("Services delivered"), "support:index", lambda u: access.can(u, "read", Rec.SERVICE))
        home.register(55, support_home.provider_section)
        home.register(56, support_home.oversight_section)
