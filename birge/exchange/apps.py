from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "birge.exchange"
    label = "exchange"
    verbose_name = _("Exchange with agencies, record linkage and outreach")

    def ready(self):
        from birge.core import access, home, learner_page, navigation
        from birge.core.access import Rec

        from . import policy  # noqa: F401  (registers with the access policy)
        from .home import outreach_section, registers_section
        from .learner_page import section as learner_section

        navigation.register(60, _("Agency registers"), "exchange:batch-list", lambda u: access.can(u, "read", Rec.REGISTER))
        navigation.register(62, _("Out-of-school children"), "exchange:case-list",
                            lambda u: access.can(u, "read", Rec.OUTREACH))
        navigation.register(12, _("Duplicate records"), "exchange:duplicate-list",
                            lambda u: access.can(u, "write", Rec.LEARNER))
        home.register(60, registers_section)
        home.register(62, outreach_section)
        learner_page.register(60, learner_section)
