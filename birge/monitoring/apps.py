from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _load_catalogue_if_empty(sender, using="default", **kwargs):
    """A fresh database gets the shipped catalogue; later changes go through ``birge indicators load``."""
    from .catalogue import load
    from .models import Indicator

    if not Indicator.objects.using(using).exists():
        load(audit=False)


class MonitoringConfig(AppConfig):
    name = "birge.monitoring"
    label = "monitoring"
    verbose_name = _("Monitoring")

    def ready(self):
        from birge.core import access, home, navigation

        from .scope import can_monitor

        navigation.register(70, _("Monitoring"), "monitoring:dashboard", can_monitor)
        from .views import home_section

        home.register(70, home_section)
        access.declare_not_personal("monitoring.learnercube", "Counts of learners by disaggregation; no identifiers.")
        post_migrate.connect(_load_catalogue_if_empty, sender=self)
