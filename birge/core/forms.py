"""Forms of the core, and the accessible form base every app uses.

``AccessibleFormMixin`` wires labels, hints and error messages together
(``aria-describedby``, ``aria-invalid``) and renders with the error summary
pattern of the GOV.UK Design System (``core/form.html``).
"""

from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _

from .models import Membership, Organization, User
from .roles import Role


class AccessibleFormMixin:
    template_name = "core/form.html"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._describe()

    def full_clean(self):
        super().full_clean()
        self._describe()

    def _describe(self):
        errors = getattr(self, "_errors", None) or {}
        for name, field in self.fields.items():
            bf = self[name]
            ids = []
            if field.help_text:
                ids.append(f"{bf.auto_id}-hint")
            if name in errors:
                ids.append(f"{bf.auto_id}-error")
                field.widget.attrs["aria-invalid"] = "true"
            else:
                field.widget.attrs.pop("aria-invalid", None)
            if ids:
                field.widget.attrs["aria-describedby"] = " ".join(ids)
            else:
                field.widget.attrs.pop("aria-describedby", None)
            if isinstance(field.widget, forms.DateInput):
                # A native date picker; its value is always ISO, whatever the language's format.
                field.widget.input_type = "date"
                field.widget.format = "%Y-%m-%d"


class Form(AccessibleFormMixin, forms.Form):
    pass


class ModelForm(AccessibleFormMixin, forms.ModelForm):
    pass


class LoginForm(AccessibleFormMixin, auth_forms.AuthenticationForm):
    error_messages = {
        "invalid_login": _("The username or password is not right. Check them and try again."),
        "inactive": _("This account is not active. Ask your administrator."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Username")
        self.fields["password"].label = _("Password")
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "spellcheck": "false"})
        self.fields["username"].widget.attrs.pop("autofocus", None)


class PasswordResetForm(AccessibleFormMixin, auth_forms.PasswordResetForm):
    pass


class SetPasswordForm(AccessibleFormMixin, auth_forms.SetPasswordForm):
    pass


class TokenForm(Form):
    name = forms.CharField(label=_("Name of the token"), max_length=100, required=False,
                           help_text=_("For example, the system that will use it."))


class UserCreateForm(ModelForm):
    class Meta:
        model = User
        fields = ["username", "full_name", "email", "preferred_language"]


class MembershipForm(ModelForm):
    class Meta:
        model = Membership
        fields = ["role", "organization", "starts_on", "fte"]
        widgets = {"starts_on": forms.DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.filter(is_active=True).order_by("name")
        self.fields["organization"].required = False
        self.fields["organization"].help_text = _("Leave empty only for a parent or a system administrator.")
        self._describe()


class ReasonForm(Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class AuditExportForm(Form):
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput())
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput())

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


ROLE_CHOICES = Role.choices
