from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "birge.referrals"
    label = "referrals"
    verbose_name = _("Early identification and referrals")

    def ready(self):
        from birge.core import access, home, learner_page, navigation
        from birge.core.access import Rec

        from . import policy  # noqa: F401  (registers with the access policy)
        from .home import deadlines_section, notifications_section, referrals_section
        from .learner_page import section as learner_section

        navigation.register(30, _("Referrals"), "referrals:list", lambda u: access.can(u, "read", Rec.REFERRAL))
        navigation.register(25, _("Early identification"), "referrals:concern-list",
                            lambda u: access.can(u, "read", Rec.CONCERN))
        navigation.register(70, _("Deadlines"), "referrals:deadlines", lambda u: getattr(u, "is_authenticated", False))
        navigation.register(75, _("Notifications"), "referrals:notifications", lambda u: getattr(u, "is_authenticated", False))
        home.register(5, notifications_section)
        home.register(6, deadlines_section)
        home.register(30, referrals_section)
        learner_page.register(20, learner_section)

