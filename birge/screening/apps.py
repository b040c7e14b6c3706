from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "birge.screening"
    label = "screening"
    verbose_name = _("Functioning screening")

    def ready(self):
        from birge.core import learner_page

        from . import policy  # noqa: F401  (registers with the access policy)
        from .learner_page import section as learner_section

        learner_page.register(15, learner_section)  # after the learner's own records, before referrals
