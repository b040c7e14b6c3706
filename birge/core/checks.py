"""System checks that keep the access policy complete."""

from django.apps import apps
from django.core import checks

PERSONAL_FIELD_NAMES = {"pin", "birth_date", "last_name", "first_name", "patronymic"}
PERSONAL_MODELS = {"learners.learner", "learners.guardian"}


def holds_personal_data(model) -> bool:
    for f in model._meta.get_fields():
        if getattr(f, "concrete", False) and f.name in PERSONAL_FIELD_NAMES:
            return True
        if f.is_relation and f.many_to_one and f.related_model is not None:
            if f.related_model._meta.label_lower in PERSONAL_MODELS:
                return True
    return False


@checks.register()
def every_personal_model_is_registered(app_configs=None, **kwargs):
    from . import access

    errors = []
    for model in apps.get_models():
        if not model.__module__.startswith("birge."):
            continue
        label = model._meta.label_lower
        if label in {"core.user"} or model in access.REGISTRY or label in access.NOT_PERSONAL:
            continue
        if holds_personal_data(model):
            errors.append(
                checks.Error(
                    f"{model._meta.label} holds personal data but is not registered with the access policy.",
                    hint="Call birge.core.access.register(...) in the app's ready(), or declare_not_personal() with a reason.",
                    obj=model,
                    id="birge.E001",
                )
            )
    return errors
