from django.conf import settings

from . import access
from .navigation import navigation_for


def birge(request):
    user = getattr(request, "user", None)
    return {
        "service_name": settings.BIRGE_SERVICE_NAME,
        "nav_items": navigation_for(request) if user is not None and user.is_authenticated else [],
        "LANGUAGES": settings.LANGUAGES,
        "is_demo": not settings.PRODUCTION,
        "access": access,
    }
