"""Querysets shared by every app: the access policy as a queryset method."""

from django.db import models

from . import access


class VisibleQuerySet(models.QuerySet):
    """Base for every model holding personal data: ``Model.objects.visible_to(user)``."""

    def visible_to(self, user, action: str = "read"):
        return access.restrict(user, self, action)
