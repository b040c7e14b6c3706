"""The verbs of the core: people, memberships, tokens, organizations.

Views, the API and commands call these; each runs in one transaction and
writes its audit event.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit
from .models import ApiToken, AuditEvent, Membership, Organization, User
from .roles import Role


def is_admin(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and (user.is_superuser or user.has_role(Role.SYSTEM_ADMIN)))


def require_admin(user):
    if not is_admin(user):
        raise PermissionDenied


@transaction.atomic
def create_user(actor, *, username: str, full_name: str, email: str = "", password: str | None = None,
                preferred_language: str = "ky") -> User:
    require_admin(actor)
    user = User(username=username, full_name=full_name, email=email, preferred_language=preferred_language)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    audit.record_create(actor, user, event="user.created")
    return user


@transaction.atomic
def update_user(actor, user: User, **fields) -> User:
    require_admin(actor)
    before = audit.snapshot(user)
    for name, value in fields.items():
        setattr(user, name, value)
    user.full_clean()
    user.save()
    audit.record_update(actor, user, before, event="user.updated")
    return user


@transaction.atomic
def set_user_active(actor, user: User, active: bool, reason: str) -> User:
    require_admin(actor)
    if user == actor and not active:
        raise ValidationError(_("You cannot deactivate your own account."))
    before = audit.snapshot(user)
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit.record_update(actor, user, before, event="user.activated" if active else "user.deactivated", reason=reason)
    return user


@transaction.atomic
def add_membership(actor, user: User, *, role: str, organization: Organization | None, starts_on=None, fte=1) -> Membership:
    require_admin(actor)
    m = Membership(user=user, role=role, organization=organization, starts_on=starts_on or timezone.localdate(), fte=fte)
    m.full_clean()
    m.save()
    audit.record_create(actor, m, event="membership.created")
    return m


@transaction.atomic
def end_membership(actor, membership: Membership, *, ends_on=None, reason: str = "") -> Membership:
    require_admin(actor)
    before = audit.snapshot(membership)
    membership.ends_on = ends_on or timezone.localdate()
    membership.full_clean()
    membership.save(update_fields=["ends_on"])
    audit.record_update(actor, membership, before, event="membership.ended", reason=reason)
    return membership


@transaction.atomic
def issue_token(actor: User, name: str = "") -> tuple[ApiToken, str]:
    token, key = ApiToken.issue(actor, name=name)
    audit.record(actor, AuditEvent.Action.CREATE, token, event="token.issued")
    return token, key


@transaction.atomic
def revoke_token(actor: User, token: ApiToken) -> ApiToken:
    if token.user_id != actor.pk and not is_admin(actor):
        raise PermissionDenied
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(actor, AuditEvent.Action.UPDATE, token, event="token.revoked")
    return token


@transaction.atomic
def save_organization(actor, org: Organization, *, created: bool) -> Organization:
    before = {} if created else audit.snapshot(Organization.objects.get(pk=org.pk))
    org.full_clean()
    org.save()
    if created:
        audit.record_create(actor, org, event="organization.created")
    else:
        audit.record_update(actor, org, before, event="organization.updated")
    return org
