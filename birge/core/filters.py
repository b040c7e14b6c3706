import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import names
from .models import Organization, Territory, User
from .roles import OrgKind, Role


class OrganizationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name or code"), method="search")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=OrgKind.choices, empty_label=_("Any kind"))
    region = django_filters.ModelChoiceFilter(
        label=_("Region"), queryset=Territory.objects.current().filter(level__in=Territory.TOP_LEVELS),
        field_name="territory__region", empty_label=_("Any region"),
    )

    class Meta:
        model = Organization
        fields = ["q", "kind", "region"]

    def search(self, queryset, name, value):
        # Folded keys, so Cyrillic and Latin spellings match on SQLite too (icontains is ASCII-only there).
        return queryset.filter(Q(search_key__contains=names.search_key(value)) | Q(code__iexact=value.strip()))


class UserFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name or username"), method="search")
    role = django_filters.ChoiceFilter(label=_("Role"), choices=Role.choices, field_name="memberships__role",
                                       empty_label=_("Any role"), distinct=True)

    class Meta:
        model = User
        fields = ["q", "role"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(username__icontains=value) | Q(full_name__icontains=value))
