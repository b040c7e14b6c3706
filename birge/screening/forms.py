"""Forms of the screening pages. They only shape input; the services and the engine decide and validate."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from birge.core.forms import Form

from . import engine, services
from .models import Respondent


class GuardianChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.full_name


class StartForm(Form):
    """Step one: when, and who answers. The questionnaire follows from the age on the interview date."""

    interview_date = forms.DateField(label=_("Interview date"), widget=forms.DateInput(),
                                     help_text=_("The questionnaire is chosen by the learner's age in completed years on "
                                                 "this date."))
    respondent = forms.ChoiceField(label=_("Who answers the questions"), choices=Respondent.choices,
                                   widget=forms.RadioSelect)
    respondent_guardian = GuardianChoiceField(label=_("Guardian who answers"), queryset=None, required=False,
                                              empty_label=_("Not a recorded guardian"))
    respondent_name = forms.CharField(label=_("Respondent's name"), max_length=200, required=False,
                                      help_text=_("When the person who answers is not a recorded guardian."))

    def __init__(self, *args, learner, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("interview_date", timezone.localdate())
        super().__init__(*args, **kwargs)
        guardians = services.current_guardians(learner)
        self.fields["respondent_guardian"].queryset = guardians
        if not guardians.exists():
            del self.fields["respondent_guardian"]
        self._describe()


class QuestionnaireForm(Form):
    """One radio group per question of the instrument, named by the question's code (``CF1``, ``seeing``).

    Every field is optional here: which questions are shown and which need an answer is decided by
    the engine from the answers (``visible_items``, ``validate_answers(require_complete=True)``).
    """

    def __init__(self, *args, instrument: engine.Instrument, **kwargs):
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        for item in instrument.items:
            self.fields[item.code] = forms.ChoiceField(
                label=str(item.text), help_text=str(item.hint) if item.hint else "", required=False,
                choices=item.choices(), widget=forms.RadioSelect)
        self._describe()

    def answers(self) -> dict:
        """The answers given (after ``is_valid()``): question code → answer code, unanswered left out."""
        return {code: value for code, value in self.cleaned_data.items() if value}
