"""Forms of the learner pages. They only shape input; the services decide and validate."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from birge.core import access
from birge.core.forms import Form
from birge.core.models import LANGUAGES_OF_INSTRUCTION, Organization, Territory
from birge.core.roles import EDUCATION_KINDS, OrgKind

from . import services
from .models import Assignment, Consent, DisabilityStatus, FormOfEducation, GuardianLink, Level, Programme, Sex

DATE = forms.DateInput()
LANGUAGE_CHOICES = [("", _("Not given"))] + [(code, label) for code, label in LANGUAGES_OF_INSTRUCTION.items()]


def apply_errors(form, exc: ValidationError, aliases: dict | None = None) -> None:
    """Show a service's ValidationError on the form: on the field when the form has it, else at the top."""
    aliases = aliases or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        field = aliases.get(field, field)
        if field in form.fields and field != NON_FIELD_ERRORS:
            form.add_error(field, messages)
        elif field == NON_FIELD_ERRORS:
            form.add_error(None, messages)
        else:
            form.add_error(None, [f"{m}" for m in messages])


class TerritoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.code})"


class OrganizationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj} — {obj.territory.name}"


def territories():
    return Territory.objects.current().order_by("code")


def organizations_near(learner, kinds=None, user=None):
    """Organizations offered in a form: in the learner's region, national ones, and where the user works."""
    region_prefix = learner.territory.code[:5] if learner is not None else None
    q = Q(territory__code__startswith=region_prefix) if region_prefix else Q()
    q |= Q(kind__in=[OrgKind.UNIVERSITY, OrgKind.PMPK_REPUBLICAN, OrgKind.MINISTRY, OrgKind.TESTING_CENTRE])
    if user is not None:
        q |= Q(pk__in=access.grant_organizations(user))
    qs = Organization.objects.filter(q, is_active=True).select_related("territory")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.order_by("name")


class LearnerForm(Form):
    pin = forms.CharField(label=_("PIN"), required=False, max_length=20,
                          help_text=_("14 digits from the birth certificate. Leave empty only if the child has none yet."),
                          widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}))
    last_name = forms.CharField(label=_("Surname"), required=False, max_length=100,
                                help_text=_("Leave empty when the child has no separate surname (Kyrgyz form)."))
    first_name = forms.CharField(label=_("Given name"), max_length=100)
    patronymic = forms.CharField(label=_("Patronymic or уулу/кызы form"), required=False, max_length=100,
                                 help_text=_("For example Асанович, or Асан уулу / Асан кызы."))
    birth_date = forms.DateField(label=_("Birth date"), widget=DATE)
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices, widget=forms.RadioSelect)
    territory = TerritoryChoiceField(label=_("Address (territory)"), queryset=Territory.objects.none(),
                                     help_text=_("Where the child lives: aiyl aimak, town, city or district."))
    address = forms.CharField(label=_("Street address"), required=False, max_length=300)
    languages = forms.CharField(label=_("Languages"), required=False, max_length=40,
                                help_text=_("Codes separated by commas, e.g. ky,ru."))
    confirm_mismatch = forms.BooleanField(
        label=_("I checked the documents: the birth date and sex entered are right although the PIN says otherwise"),
        required=False,
    )

    def __init__(self, *args, with_pin=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["territory"].queryset = territories()
        if not with_pin:
            del self.fields["pin"]
        self._describe()


class PinChangeForm(Form):
    pin = forms.CharField(label=_("New PIN"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("For example: PIN corrected by the civil registry, decision number and date."))
    confirm_mismatch = forms.BooleanField(label=_("The PIN's birth date or sex differs from the record and I checked it"),
                                          required=False)


class ReasonForm(Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class EndWithDateForm(Form):
    ends_on = forms.DateField(label=_("End date"), required=False, widget=DATE,
                              help_text=_("From this day on it no longer applies. Leave empty for today."))
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class GuardianFieldsForm(Form):
    last_name = forms.CharField(label=_("Surname"), required=False, max_length=100)
    first_name = forms.CharField(label=_("Given name"), max_length=100)
    patronymic = forms.CharField(label=_("Patronymic or уулу/кызы form"), required=False, max_length=100)
    pin = forms.CharField(label=_("PIN"), required=False, max_length=20)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40, widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}))
    email = forms.EmailField(label=_("E-mail"), required=False)
    preferred_language = forms.ChoiceField(label=_("Preferred language"), choices=[("ky", "Кыргызча"), ("ru", "Русский"), ("en", "English")])


class LinkFieldsMixin(forms.Form):
    relation = forms.ChoiceField(label=_("Relation to the learner"), choices=GuardianLink.Relation.choices, widget=forms.RadioSelect)
    is_legal_representative = forms.BooleanField(label=_("Legal representative (may give consent)"), required=False, initial=True)
    starts_on = forms.DateField(label=_("From"), required=False, widget=DATE, help_text=_("Leave empty for today."))


class GuardianForm(GuardianFieldsForm, LinkFieldsMixin):
    pass


class GuardianLinkForm(Form):
    guardian = forms.ModelChoiceField(label=_("Guardian"), queryset=None, widget=forms.RadioSelect, empty_label=None)
    relation = forms.ChoiceField(label=_("Relation to the learner"), choices=GuardianLink.Relation.choices, widget=forms.RadioSelect)
    is_legal_representative = forms.BooleanField(label=_("Legal representative (may give consent)"), required=False, initial=True)
    starts_on = forms.DateField(label=_("From"), required=False, widget=DATE, help_text=_("Leave empty for today."))

    def __init__(self, *args, guardians=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["guardian"].queryset = guardians
        self.fields["guardian"].label_from_instance = lambda g: " · ".join(p for p in (g.full_name, g.phone) if p)
        self._describe()


class GuardianSearchForm(Form):
    q = forms.CharField(label=_("Guardian's name"), required=False, max_length=100,
                        help_text=_("Any spelling. Only guardians of learners you can see are found."))


class ParentAccountForm(Form):
    email = forms.EmailField(label=_("E-mail"), help_text=_("The guardian receives a link there to set their password."))
    username = forms.CharField(label=_("Username"), required=False, max_length=150,
                               help_text=_("Leave empty to use the e-mail address."))


class ConsentForm(Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Consent.Purpose.choices)
    scope = forms.CharField(label=_("Scope"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                            help_text=_("What exactly may be done or shared."))
    recipient = OrganizationChoiceField(label=_("Recipient organization"), queryset=Organization.objects.none(), required=False,
                                        help_text=_("Required for a release, a handover or sharing with an agency."))
    given_by = forms.ModelChoiceField(label=_("Given by"), queryset=None, required=False,
                                      help_text=_("One of the learner's current legal representatives."))
    given_by_learner = forms.BooleanField(label=_("Given by the learner themselves (18 or older)"), required=False)
    given_at = forms.DateField(label=_("Date given"), widget=DATE, required=False, help_text=_("Leave empty for today."))
    method = forms.ChoiceField(label=_("How"), choices=Consent.Method.choices, widget=forms.RadioSelect, initial=Consent.Method.PAPER)
    document = forms.FileField(label=_("Scanned document"), required=False, help_text=_("PDF, JPEG or PNG, up to 10 MB."))
    valid_until = forms.DateField(label=_("Valid until"), required=False, widget=DATE)

    def __init__(self, *args, learner=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipient"].queryset = organizations_near(learner, user=user)
        self.fields["given_by"].queryset = learner_guardians(learner)
        self._describe()


class ParentConsentForm(Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Consent.Purpose.choices)
    scope = forms.CharField(label=_("Scope"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                            help_text=_("What exactly may be done or shared."))
    recipient = OrganizationChoiceField(label=_("Recipient organization"), queryset=Organization.objects.none(), required=False,
                                        help_text=_("Required for a release, a handover or sharing with an agency."))
    valid_until = forms.DateField(label=_("Valid until"), required=False, widget=DATE)
    agree = forms.BooleanField(label=_("I am the child's legal representative and I give this consent"))

    def __init__(self, *args, learner=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipient"].queryset = organizations_near(learner, user=user)
        self._describe()


def learner_guardians(learner):
    from .models import Guardian

    if learner is None:
        return Guardian.objects.none()
    return Guardian.objects.filter(links__learner=learner, links__ends_on__isnull=True).distinct()


class DisabilityForm(Form):
    category = forms.ChoiceField(label=_("Category"), choices=DisabilityStatus.Category.choices, widget=forms.RadioSelect)
    certifying_body = OrganizationChoiceField(label=_("Certifying body (MSEK)"), queryset=Organization.objects.none(), required=False)
    certificate_number = forms.CharField(label=_("Certificate number"), required=False, max_length=40)
    starts_on = forms.DateField(label=_("From"), widget=DATE)
    indefinite = forms.BooleanField(label=_("Indefinite (no end date)"), required=False)
    ends_on = forms.DateField(label=_("Until"), required=False, widget=DATE)
    reexamination_on = forms.DateField(label=_("Re-examination date"), required=False, widget=DATE)
    rehabilitation_programme = forms.CharField(label=_("Individual rehabilitation programme (IPR) reference"), required=False,
                                               max_length=100)

    def __init__(self, *args, learner=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["certifying_body"].queryset = organizations_near(learner, kinds=[OrgKind.SOCIAL_PROTECTION])
        self._describe()


class DiagnosisForm(Form):
    code = forms.CharField(label=_("ICD-10 code"), max_length=10, help_text=_("For example F84.0."))
    note = forms.CharField(label=_("Note"), required=False, max_length=300)
    recorded_on = forms.DateField(label=_("Recorded on"), required=False, widget=DATE, help_text=_("Leave empty for today."))


class EnrolmentDetailsForm(Form):
    grade = forms.IntegerField(label=_("Grade"), required=False, min_value=1, max_value=12, help_text=_("School only: 1 to 12."))
    class_name = forms.CharField(label=_("Class or group"), required=False, max_length=40)
    form = forms.ChoiceField(label=_("Form of education"), choices=FormOfEducation.choices, initial=FormOfEducation.MAINSTREAM)
    programme = forms.ChoiceField(label=_("Programme"), choices=Programme.choices, initial=Programme.GENERAL)
    with_tutor = forms.BooleanField(label=_("With a tutor or assistant"), required=False)
    language = forms.ChoiceField(label=_("Language of instruction"), choices=LANGUAGE_CHOICES, required=False)


class EnrolmentForm(EnrolmentDetailsForm):
    organization = OrganizationChoiceField(label=_("Organization"), queryset=Organization.objects.none())
    level = forms.ChoiceField(label=_("Level"), choices=Level.choices)
    starts_on = forms.DateField(label=_("From"), widget=DATE)
    field_order = ["organization", "level", "grade", "class_name", "form", "programme", "with_tutor", "language", "starts_on"]

    def __init__(self, *args, learner=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations_near(learner, kinds=EDUCATION_KINDS, user=user)
        self.initial.setdefault("starts_on", timezone.localdate())
        self._describe()


class TransferForm(EnrolmentDetailsForm):
    to_organization = OrganizationChoiceField(label=_("Receiving organization"), queryset=Organization.objects.none())
    starts_on = forms.DateField(label=_("Transfer date"), required=False, widget=DATE,
                                help_text=_("The first day at the new organization. Leave empty for today."))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    field_order = ["to_organization", "starts_on", "grade", "class_name", "form", "programme", "with_tutor", "language", "reason"]

    def __init__(self, *args, learner=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_organization"].queryset = organizations_near(learner, kinds=EDUCATION_KINDS, user=user)
        self._describe()


class AssignmentForm(Form):
    user = forms.ModelChoiceField(label=_("Staff member"), queryset=None)
    kind = forms.ChoiceField(label=_("As"), choices=Assignment.Kind.choices, widget=forms.RadioSelect)
    starts_on = forms.DateField(label=_("From"), required=False, widget=DATE, help_text=_("Leave empty for today."))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        staff = services.assignable_staff(user)
        self.fields["user"].queryset = staff
        self.fields["user"].label_from_instance = lambda u: u.full_name or u.username
        self._describe()


class ImportForm(Form):
    file = forms.FileField(label=_("Roster file"), help_text=_(
        "CSV (UTF-8 or Windows-1251) or XLSX with the columns pin, last_name, first_name, patronymic, birth_date, sex, "
        "territory, organization, level, grade, class_name, form, programme, starts_on."))
    valid_only = forms.BooleanField(label=_("Import the valid rows and report the others"), required=False,
                                    help_text=_("Without this, nothing is imported while any row has a problem."))
