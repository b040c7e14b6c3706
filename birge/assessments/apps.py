from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    name = "birge.assessments"
    label = "assessments"
    verbose_name = _("PMPK assessments and conclusions")

    def ready(self):
        from birge.core import home, navigation

        from . import policy, signals  # noqa: F401  (access policy; release consent withdrawal)
        from .views import allowed_in_menu, home_sections

        navigation.register(40, _("PMPK conclusions"), "assessments:index", allowed_in_menu)
        for order, section in home_sections():
            home.register(order, section)
