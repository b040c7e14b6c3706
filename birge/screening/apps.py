from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreeningConfig(AppConfig):
    name = "birge.screening"
    label = "screening"
    verbose_name = _("Functioning screening")

    def ready(self):
        from . import policy  # noqa: F401  (registers with the access policy)
