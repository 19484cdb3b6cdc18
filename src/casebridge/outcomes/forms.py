"""Forms of the outcomes section: an assessment on the dimensions of one information
category, the answer to the question of follow-up, one more follow-up, its result."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from casebridge.cooperation_models.models import Term
from casebridge.forms import LocalDateInput
from casebridge.labels import pick_label
from casebridge.outcomes.models import Occasion
from casebridge.outcomes.selectors import level_labels
from casebridge.outcomes.services import MAX_RATIONALE, RatingIn

LEVEL_PREFIX = "level_"


class AssessmentForm(forms.Form):
    """One level field per dimension of the category (blank: not judged this time)."""

    occasion = forms.ChoiceField(label=_("Occasion"), choices=[])
    assessed_on = forms.DateField(label=_("Assessed on"), required=False, widget=LocalDateInput)
    rationale = forms.CharField(
        label=_("Rationale"),
        max_length=MAX_RATIONALE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Your judgement in your own words: what you saw and heard, and why."),
    )

    def __init__(self, *args, dimensions: list[Term], occasions: list[str], category: str, **kw):
        kw.setdefault("prefix", f"assess-{category}")
        super().__init__(*args, **kw)
        self.category = category
        labels = dict(Occasion.choices)
        self.fields["occasion"].choices = [(code, labels[code]) for code in occasions]
        self.dimensions = dimensions
        for dimension in dimensions:
            self.fields[LEVEL_PREFIX + dimension.code] = forms.TypedChoiceField(
                label=dimension.label,
                coerce=int,
                required=False,
                empty_value=None,
                choices=[("", _("not judged this time")), *enumerate(level_labels(dimension))],
                help_text=pick_label(dimension.attributes.get("description") or {}, fallback=""),
            )

    def level_fields(self):
        return [self[LEVEL_PREFIX + dimension.code] for dimension in self.dimensions]

    def ratings(self) -> list[RatingIn]:
        return [
            RatingIn(dimension.code, self.cleaned_data[LEVEL_PREFIX + dimension.code])
            for dimension in self.dimensions
            if self.cleaned_data.get(LEVEL_PREFIX + dimension.code) is not None
        ]


class FollowUpPlanForm(forms.Form):
    prefix = "follow-plan"

    consent = forms.TypedChoiceField(
        label=_("Does the person agree to be contacted after the closure?"),
        choices=[("yes", _("Yes: schedule the follow-ups")), ("no", _("No: nobody contacts them"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("How the person was asked and answered"), max_length=300)


class FollowUpAddForm(forms.Form):
    prefix = "follow-add"

    due_on = forms.DateField(label=_("Due on"), widget=LocalDateInput)


class FollowUpResultForm(AssessmentForm):
    reached = forms.TypedChoiceField(
        label=_("Was the person reached?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, follow_up_id: int, **kw):
        super().__init__(
            *args, occasions=[Occasion.FOLLOW_UP], prefix=f"follow-{follow_up_id}", **kw
        )
        self.fields["rationale"].required = False
        self.fields["occasion"].required = False
