"""The Django admin for reference data. Every save and delete is audited."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from . import audit
from .models import AuditEvent, ClassifierVersion, Membership, Organization, Territory, User


class AuditedAdmin(admin.ModelAdmin):
    def save_model(self, request, obj, form, change):
        before = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        if change:
            audit.record_update(request.user, obj, before, event=f"{obj._meta.model_name}.admin_changed")
        else:
            audit.record_create(request.user, obj, event=f"{obj._meta.model_name}.admin_created")

    def delete_model(self, request, obj):
        audit.record_delete(request.user, obj, event=f"{obj._meta.model_name}.admin_deleted")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(ClassifierVersion)
class ClassifierVersionAdmin(AuditedAdmin):
    list_display = ["code", "title", "valid_from", "is_synthetic"]


@admin.register(Territory)
class TerritoryAdmin(AuditedAdmin):
    list_display = ["code", "name_ky", "name_ru", "level", "version", "valid_from", "valid_to", "is_synthetic"]
    list_filter = ["level", "version", "is_synthetic"]
    search_fields = ["code", "name_ky", "name_ru", "name_en"]
    raw_id_fields = ["parent"]
    filter_horizontal = ["replaced_by"]


@admin.register(Organization)
class OrganizationAdmin(AuditedAdmin):
    list_display = ["code", "name", "kind", "territory", "is_active"]
    list_filter = ["kind", "is_active", "is_synthetic"]
    search_fields = ["code", "name", "name_ru"]
    raw_id_fields = ["territory"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["organization"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "full_name", "email", "is_active"]
    fieldsets = BaseUserAdmin.fieldsets + ((_("Birge"), {"fields": ("full_name", "preferred_language", "phone")}),)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["id", "at", "actor_name", "action", "event", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["event", "object_id", "request_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
