"""Request id, security headers and a structured access log without personal data."""

from __future__ import annotations

import contextvars
import logging
import time
import uuid

from django.conf import settings

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("birge_request_id", default=None)
access_log = logging.getLogger("birge.access")


def current_request_id() -> str | None:
    return _request_id.get()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = uuid.uuid4().hex
        token = _request_id.set(rid)
        request.request_id = rid
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = rid
        return response


CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class SecurityHeadersMiddleware:
    """Content Security Policy and the headers Django 5.2 does not set itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        if request.path.startswith(("/api/", "/accounts/")) or getattr(request, "user", None) and request.user.is_authenticated:
            response.setdefault("Cache-Control", "no-store")
        return response


class AccessLogMiddleware:
    """One JSON line per request: method, route (never the query string), status, user id, time."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        if request.path in ("/healthz", "/readyz") or request.path.startswith(f"/{settings.STATIC_URL}"):
            return response
        match = getattr(request, "resolver_match", None)
        access_log.info(
            "request",
            extra={
                "method": request.method,
                "route": match.route if match else "",
                "view": match.view_name if match else "",
                "status": response.status_code,
                "user_id": getattr(getattr(request, "user", None), "pk", None),
                "ms": round((time.perf_counter() - start) * 1000, 1),
            },
        )
        return response


class LanguageMiddleware:
    """Kyrgyz first: the language the person chose (cookie), else their profile's, else Kyrgyz.

    The browser's Accept-Language is not consulted for pages (most devices here are set to
    Russian or English, and the service speaks Kyrgyz first); API clients may send it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils import translation

        supported = {code for code, _name in settings.LANGUAGES}
        code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if code not in supported:
            code = None
        if code is None and request.path.startswith("/api/") and request.headers.get("Accept-Language"):
            code = translation.get_language_from_request(request)
        user = getattr(request, "user", None)
        if code is None and user is not None and user.is_authenticated:
            code = user.preferred_language if user.preferred_language in supported else None
        code = code or settings.LANGUAGE_CODE
        translation.activate(code)
        request.LANGUAGE_CODE = code
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", code)
        from django.utils.cache import patch_vary_headers

        patch_vary_headers(response, ("Cookie", "Accept-Language"))
        translation.deactivate()
        return response
