"""Forms of the training pages: start a run, join it, answer an event."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from casebridge.training import compare

ROWS = 4


class JoinForm(forms.Form):
    party = forms.ChoiceField(label=_("Your role"))

    def __init__(self, *args, parties: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].choices = parties


class AnswerForm(forms.Form):
    """Up to ``ROWS`` flows, or "nobody is informed"; the service checks the codes."""

    nobody = forms.BooleanField(
        label=_("Nobody needs to be informed at this event"), required=False
    )

    def __init__(self, *args, setting, **kwargs):
        super().__init__(*args, **kwargs)
        labels = setting.labels
        blank = [("", "—")]
        recipients = blank + setting.recipients()
        obligations = blank + [(o, compare.obligation_label(o)) for o in compare.OBLIGATIONS]
        categories = [(code, labels.categories_of([code])) for code in sorted(labels.categories)]
        bases = blank + [(code, labels.basis(code)) for code in sorted(labels.legal_bases)]
        deadlines = blank + [(d, compare.deadline_label(d)) for d in compare.DEADLINES]
        for row in range(ROWS):
            self.fields[f"flow_{row}_recipient"] = forms.ChoiceField(
                label=_("Who is informed"), choices=recipients, required=False
            )
            self.fields[f"flow_{row}_obligation"] = forms.ChoiceField(
                label=_("Obligation"), choices=obligations, required=False
            )
            self.fields[f"flow_{row}_categories"] = forms.MultipleChoiceField(
                label=_("About what"),
                choices=categories,
                required=False,
                widget=forms.CheckboxSelectMultiple,
            )
            self.fields[f"flow_{row}_legal_basis"] = forms.ChoiceField(
                label=_("Legal basis"), choices=bases, required=False
            )
            self.fields[f"flow_{row}_deadline"] = forms.ChoiceField(
                label=_("By when"), choices=deadlines, required=False
            )

    def rows(self):
        """The fields grouped per flow, for the template."""
        return [
            [self[f"flow_{row}_{name}"] for name in compare.Flow.__dataclass_fields__]
            for row in range(ROWS)
        ]

    def flows(self) -> tuple[list[dict], list[int]]:
        """The filled rows as flows, and the row number of each (to put errors back)."""
        flows, rows = [], []
        data = self.cleaned_data
        for row in range(ROWS):
            values = {
                name: data.get(f"flow_{row}_{name}")
                for name in ("recipient", "obligation", "categories", "legal_basis", "deadline")
            }
            if not any(values.values()):
                continue
            values["categories"] = list(values["categories"] or [])
            flows.append({k: v or ([] if k == "categories" else "") for k, v in values.items()})
            rows.append(row)
        return flows, rows
