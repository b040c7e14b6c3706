"""Sign-in and sign-out are audit events too (no password, no personal data)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import audit
from .models import AuditEvent


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    audit.record(user, AuditEvent.Action.LOGIN, user, event="auth.login")


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        audit.record(user, AuditEvent.Action.LOGOUT, user, event="auth.logout")


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    # The attempted username is kept only as a count key; no password is ever logged.
    audit.record(None, AuditEvent.Action.LOGIN_FAILED, None, event="auth.login_failed", object_type_label="core.user")
