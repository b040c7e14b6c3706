"""Words for what the linkage engine reports (its codes are English and stable; people read these)."""

from django.utils.translation import gettext_lazy as _, pgettext_lazy

COMPARISON_LABELS = {
    "pin": _("PIN"),
    "first_name": _("Given name"),
    "father": _("Father's name (patronymic or уулу/кызы)"),
    "family": _("Family name"),
    "birth_date": _("Birth date"),
    "sex": _("Sex"),
    "territory": _("Place of residence"),
}

LEVEL_LABELS = {
    "n/a": _("cannot compare (missing on one side)"),
    "equal": pgettext_lazy("comparison", "equal"),
    "one typo apart": _("one typo apart"),
    "different valid PINs": _("two different valid PINs"),
    "similar (Jaro-Winkler ≥ 0.8)": _("similar spelling"),
    "different": pgettext_lazy("comparison", "different"),
    "other side's father name": _("equal to the other side's father's name"),
    "no common root": _("no common root"),
    "day and month swapped": _("day and month swapped"),
    "within 3 days or one digit": _("within 3 days or one digit"),
    "within a year": _("within a year"),
    "same settlement": _("same settlement"),
    "same district": _("same district"),
    "same region": _("same region"),
    "different region": _("different region"),
}

# Levels that are agreement (no difference to point out).
AGREEING = {"equal", "same settlement", "n/a"}
# Levels that are a near agreement (shown as "close").
CLOSE = {"one typo apart", "similar (Jaro-Winkler ≥ 0.8)", "day and month swapped", "within 3 days or one digit",
         "other side's father name", "same district"}

REASON_LABELS = {
    "": _("The score lies between the thresholds."),
    "different first names": _("Different given names: never linked automatically (twins, siblings)."),
    "different sex": _("Different sex with different given names: never linked automatically."),
    "different valid PINs": _("Two different valid PINs: never linked automatically."),
    "a rival candidate scores almost as high": _("Another learner scores almost as high (namesakes)."),
    "left record linked to another": _("This learner is linked to another row already."),
    "possibly the same child as a row of another register": _(
        "Possibly the same child as a row of another register that is linked to this learner."),
    "the row has other candidates": _("The row has other candidate learners waiting for review."),
}


def level_label(level: str) -> str:
    return str(LEVEL_LABELS.get(level, level))


def reason_label(reason: str) -> str:
    return str(REASON_LABELS.get(reason, reason))


def agreement(level: str) -> str:
    """agree · close · differ · unknown, for the comparison page (shown with words and a symbol)."""
    if level == "n/a":
        return "unknown"
    if level in AGREEING:
        return "agree"
    if level in CLOSE:
        return "close"
    return "differ"
