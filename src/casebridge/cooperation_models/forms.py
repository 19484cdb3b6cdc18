"""Form fields for the cooperation model's vocabularies (caller categories, languages,
legal bases, ...): chosen by code, shown with their label in the user's language."""

from __future__ import annotations

from django import forms

from casebridge.cooperation_models.models import Term


class TermChoiceField(forms.ModelChoiceField):
    """A vocabulary entry of the cooperation model, shown with its label."""

    def __init__(self, kind: str, **kwargs):
        super().__init__(queryset=Term.objects.of(kind), to_field_name="code", **kwargs)

    def label_from_instance(self, obj):
        return obj.label


class TermMultipleField(forms.ModelMultipleChoiceField):
    def __init__(self, kind: str, **kwargs):
        super().__init__(
            queryset=Term.objects.of(kind),
            to_field_name="code",
            widget=forms.CheckboxSelectMultiple,
            **kwargs,
        )

    def label_from_instance(self, obj):
        return obj.label
