from importlib import import_module

from django.apps import AppConfig, apps


class ApiConfig(AppConfig):
    name = "birge.api"
    label = "api"
    verbose_name = "API"

    def ready(self):
        # Load every Birge app's api.py so its routes are registered before the URLconf is read.
        for config in apps.get_app_configs():
            if config.name.startswith("birge.") and config.name != self.name:
                try:
                    import_module(f"{config.name}.api")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{config.name}.api":
                        raise
