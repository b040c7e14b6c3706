"""Core records: territory, organizations, people and roles, the audit trail."""

from __future__ import annotations

import hashlib
import json
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy as _

from .roles import ROLE_ORG_KINDS, ROLES_WITHOUT_ORGANIZATION, OrgKind, Role


class ClassifierVersion(models.Model):
    """A vintage of the SOATE territory classifier; statistics name the one they use."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    title = models.CharField(_("title"), max_length=200)
    valid_from = models.DateField(_("valid from"))
    source = models.CharField(_("source"), max_length=300, blank=True)
    is_synthetic = models.BooleanField(
        _("synthetic"), default=False, help_text=_("Made-up demo data, not the official classifier.")
    )

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("classifier version")
        verbose_name_plural = _("classifier versions")

    def __str__(self):
        return self.title


class TerritoryQuerySet(models.QuerySet):
    def current(self, on=None):
        on = on or timezone.localdate()
        return self.filter(Q(valid_from__lte=on), Q(valid_to__isnull=True) | Q(valid_to__gt=on))

    def within(self, prefix: str):
        return self.filter(code__startswith=prefix)


class Territory(models.Model):
    """A unit of the SOATE classifier: oblast, rayon or city, aiyl aimak or town."""

    class Level(models.TextChoices):
        REGION = "region", _("Region (oblast)")
        CITY_REPUBLICAN = "city-republican", _("City of republican significance")
        DISTRICT = "district", _("District (rayon)")
        CITY_DISTRICT = "city-district", _("City district")
        CITY = "city", _("City of regional significance")
        AIYL_AIMAK = "aiyl-aimak", _("Aiyl aimak")
        TOWN = "town", _("Town")

    TOP_LEVELS = (Level.REGION, Level.CITY_REPUBLICAN)
    DISTRICT_LEVELS = (Level.DISTRICT, Level.CITY_DISTRICT, Level.CITY)

    code = models.CharField(_("SOATE code"), max_length=14, db_index=True)
    level = models.CharField(_("level"), max_length=20, choices=Level.choices)
    name_ky = models.CharField(_("name in Kyrgyz"), max_length=200)
    name_ru = models.CharField(_("name in Russian"), max_length=200)
    name_en = models.CharField(_("name in English"), max_length=200)
    iso_code = models.CharField(_("ISO 3166-2"), max_length=10, blank=True)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent"))
    region = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="+", editable=False)
    district = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="+", editable=False)
    is_urban = models.BooleanField(_("urban"), default=False)
    version = models.ForeignKey(ClassifierVersion, models.PROTECT, related_name="territories", verbose_name=_("classifier version"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    replaced_by = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="replaces", verbose_name=_("replaced by"))
    is_synthetic = models.BooleanField(_("synthetic"), default=False)

    objects = TerritoryQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("territory")
        verbose_name_plural = _("territories")
        constraints = [
            models.UniqueConstraint(fields=["code", "valid_from"], name="territory_code_vintage_unique"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gt=models.F("valid_from")), name="territory_valid_range"),
        ]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        lang = (get_language() or "ky")[:2]
        return getattr(self, f"name_{lang}", None) or self.name_ky

    @property
    def prefix(self) -> str:
        """The significant part of the code: what every unit inside it starts with."""
        if self.level in self.TOP_LEVELS:
            return self.code[:5]
        if self.level in self.DISTRICT_LEVELS:
            return self.code[:8]
        return self.code[:11]

    def clean(self):
        if not (len(self.code) == 14 and self.code.isascii() and self.code.isdigit() and self.code.startswith("417")):
            raise ValidationError({"code": _("A SOATE code has 14 digits and starts with 417.")})
        if self.parent and not self.code.startswith(self.parent.prefix):
            raise ValidationError({"parent": _("The code does not lie inside the parent's code.")})

    def save(self, *args, **kwargs):
        """Keep ``region`` and ``district`` (the ancestors used for aggregation) filled."""
        self.region = self.district = None
        node = self.parent
        while node is not None:
            if node.level in self.TOP_LEVELS and self.region is None:
                self.region = node
            if node.level in self.DISTRICT_LEVELS and self.district is None:
                self.district = node
            node = node.parent
        super().save(*args, **kwargs)
        own = {}
        if self.level in self.TOP_LEVELS:
            own["region"] = self
        if self.level in self.DISTRICT_LEVELS:
            own["district"] = self
        if own:
            Territory.objects.filter(pk=self.pk).update(**own)
            for field, value in own.items():
                setattr(self, field, value)


class Organization(models.Model):
    kind = models.CharField(_("kind"), max_length=30, choices=OrgKind.choices, db_index=True)
    code = models.CharField(_("code"), max_length=30, unique=True, help_text=_("The registry code of the organization."))
    name = models.CharField(_("name"), max_length=300)
    name_ru = models.CharField(_("name in Russian"), max_length=300, blank=True)
    territory = models.ForeignKey(Territory, models.PROTECT, related_name="organizations", verbose_name=_("territory"))
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    languages = models.CharField(
        _("languages of instruction"), max_length=40, blank=True, help_text=_("Comma-separated language codes, e.g. ky,ru.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_synthetic = models.BooleanField(_("synthetic"), default=False)
    search_key = models.CharField(max_length=700, editable=False, db_index=True, default="")

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        indexes = [models.Index(fields=["kind", "territory"])]

    def __str__(self):
        if (get_language() or "ky")[:2] == "ru" and self.name_ru:
            return self.name_ru
        return self.name

    def save(self, *args, **kwargs):
        self.search_key = self.make_search_key()
        super().save(*args, **kwargs)

    def make_search_key(self) -> str:
        from . import names

        return names.search_key(f"{self.name} {self.name_ru} {self.code}")

    @property
    def language_list(self) -> list[str]:
        return [c for c in (x.strip() for x in self.languages.split(",")) if c]

    def clean(self):
        bad = [c for c in self.language_list if c not in LANGUAGES_OF_INSTRUCTION]
        if bad:
            raise ValidationError({"languages": _("Unknown language code: %(codes)s.") % {"codes": ", ".join(bad)}})


LANGUAGES_OF_INSTRUCTION = {
    "ky": _("Kyrgyz"),
    "ru": _("Russian"),
    "uz": _("Uzbek"),
    "tg": _("Tajik"),
    "en": _("English"),
    "ksl": _("Kyrgyz sign language"),
}


class User(AbstractUser):
    """A person who signs in. Roles come from memberships."""

    full_name = models.CharField(_("full name"), max_length=300, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=5, choices=settings.LANGUAGES, default="ky")
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.full_name or self.username

    def active_memberships(self):
        today = timezone.localdate()
        return self.memberships.filter(Q(ends_on__isnull=True) | Q(ends_on__gt=today), starts_on__lte=today).select_related(
            "organization", "organization__territory"
        )

    @property
    def role_set(self) -> set[str]:
        if not hasattr(self, "_role_set"):
            self._role_set = {m.role for m in self.active_memberships()}
        return self._role_set

    def has_role(self, *roles) -> bool:
        return bool(self.role_set.intersection(roles))


class Membership(models.Model):
    """A role held by a user at an organization, for a period."""

    user = models.ForeignKey(User, models.CASCADE, related_name="memberships", verbose_name=_("user"))
    role = models.CharField(_("role"), max_length=40, choices=Role.choices)
    organization = models.ForeignKey(
        Organization, models.PROTECT, null=True, blank=True, related_name="memberships", verbose_name=_("organization")
    )
    starts_on = models.DateField(_("starts on"), default=timezone.localdate)
    ends_on = models.DateField(_("ends on"), null=True, blank=True, help_text=_("The first day without this role."))
    fte = models.DecimalField(_("full-time equivalent"), max_digits=3, decimal_places=2, default=1)

    class Meta:
        ordering = ["user", "role"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")), name="membership_period"),
        ]

    def __str__(self):
        return f"{self.get_role_display()} · {self.organization or '—'}"

    def clean(self):
        if self.role in ROLES_WITHOUT_ORGANIZATION and self.role == Role.PARENT and self.organization_id:
            raise ValidationError({"organization": _("A parent's role is not held at an organization.")})
        if self.role not in ROLES_WITHOUT_ORGANIZATION and not self.organization_id:
            raise ValidationError({"organization": _("This role is held at an organization: choose one.")})
        if self.organization_id and self.organization.kind not in ROLE_ORG_KINDS.get(self.role, ()):
            raise ValidationError(
                {"organization": _("A %(role)s cannot be a member of a %(kind)s.")
                 % {"role": self.get_role_display(), "kind": self.organization.get_kind_display()}}
            )


class ApiToken(models.Model):
    """A revocable API token. Only a hash is stored; the key is shown once."""

    user = models.ForeignKey(User, models.CASCADE, related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=8, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.prefix}…"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user, name="") -> tuple["ApiToken", str]:
        key = secrets.token_urlsafe(32)
        return cls.objects.create(user=user, name=name, prefix=key[:8], key_hash=cls.hash_key(key)), key


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Audit events are append-only.")

    def delete(self):
        raise PermissionError("Audit events are append-only.")


class AuditEvent(models.Model):
    """One append-only, hash-chained entry of the audit trail."""

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Changed")
        DELETE = "delete", _("Deleted")
        TRANSITION = "transition", _("State changed")
        READ = "read", _("Opened")
        EXPORT = "export", _("Exported")
        LOGIN = "login", _("Signed in")
        LOGIN_FAILED = "login-failed", _("Failed sign-in")
        LOGOUT = "logout", _("Signed out")

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("actor"))
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    request_id = models.CharField(_("request"), max_length=36, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    event = models.CharField(_("event"), max_length=80, help_text=_("Stable event code, e.g. learner.created"))
    object_type = models.CharField(_("record type"), max_length=80)
    object_id = models.CharField(_("record"), max_length=40, blank=True)
    learner_id = models.BigIntegerField(_("learner"), null=True, blank=True, db_index=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.event}"

    def payload(self) -> str:
        """The canonical text the hash covers."""
        return json.dumps(
            {
                "at": self.at.isoformat(timespec="microseconds"),
                "actor": self.actor_id,
                "actor_name": self.actor_name,
                "request_id": self.request_id,
                "action": self.action,
                "event": self.event,
                "object_type": self.object_type,
                "object_id": self.object_id,
                "learner_id": self.learner_id,
                "changes": self.changes,
                "reason": self.reason,
                "prev": self.prev_hash,
            },
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        )

    def compute_hash(self) -> str:
        return hashlib.sha256(self.payload().encode()).hexdigest()

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")


class AuditChainHead(models.Model):
    """A single row locked while an event is appended, so the chain stays linear."""

    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("audit chain head")


from .deadline_models import Clock, Deadline, Notification  # noqa: E402,F401  (the deadline mechanism: birge.core.deadlines)
