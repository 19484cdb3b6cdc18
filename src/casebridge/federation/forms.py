"""Forms of the federation pages: a consultation, a person match, a handover proposal, and
the answer to a handover the partner asks for."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from casebridge.federation.selectors import partner_name

AGE_BANDS = [
    ("unknown", _("not known")),
    ("under_14", _("under 14")),
    ("14_17", _("14 to 17")),
    ("18_26", _("18 to 26")),
    ("27_plus", _("27 and older")),
]


MATCH_RESULTS = {
    "match": _("The partner has an open case of this person."),
    "possible": _(
        "The partner possibly has an open case of this person (the same last name and date "
        "of birth, another first name)."
    ),
    "none": _("The partner does not know the person."),
}


def _agreement_choices(agreements) -> list[tuple[int, str]]:
    return [(a.pk, f"{partner_name(a)} ({a.code})") for a in agreements]


class AgreementForm(forms.Form):
    """A form that names one of the agreements the user acts under."""

    agreement = forms.TypedChoiceField(label=_("Agreement"), coerce=int, choices=[])

    def __init__(self, *args, agreements, **kwargs):
        super().__init__(*args, **kwargs)
        self.agreements = {a.pk: a for a in agreements}
        self.fields["agreement"].choices = _agreement_choices(agreements)

    def chosen_agreement(self):
        return self.agreements[self.cleaned_data["agreement"]]


class ConsultForm(AgreementForm):
    postcode = forms.CharField(
        label=_("Postcode where the person lives"),
        max_length=16,
        help_text=_("No name and no other detail of the person is sent."),
    )
    language = forms.CharField(
        label=_("Language of counselling"),
        max_length=8,
        required=False,
        help_text=_("A language code such as de, nl, ar or tr."),
    )
    age_band = forms.ChoiceField(label=_("Age"), choices=AGE_BANDS, initial="unknown")


class MatchForm(AgreementForm):
    prefix = "match"


class ProposeForm(AgreementForm):
    """Ask the partner installation to take the case over; the categories offered are
    those the agreements' handover terms let cross (the service checks the one chosen)."""

    prefix = "propose"

    postcode = forms.CharField(label=_("Postcode where the person now lives"), max_length=16)
    language = forms.CharField(label=_("Language of counselling"), max_length=8, required=False)
    reason = forms.CharField(
        label=_("Reason for the handover"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    categories = forms.MultipleChoiceField(
        label=_("What is sent when the partner accepts"),
        choices=[],
        widget=forms.CheckboxSelectMultiple,
    )
    consent_note = forms.CharField(
        label=_("How the person consented"),
        max_length=300,
        required=False,
    )
    justification = forms.CharField(
        label=_("Written justification"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, agreements, categories, consent: bool, justification: bool, **kw):
        super().__init__(*args, agreements=agreements, **kw)
        self.fields["categories"].choices = categories
        if not consent:
            del self.fields["consent_note"]
        if not justification:
            del self.fields["justification"]


class AcceptForm(forms.Form):
    prefix = "accept"

    organisation = forms.TypedChoiceField(
        label=_("Your organisation that takes the case over"),
        coerce=int,
        choices=[],
        help_text=_("The case opens there with you as its lead worker."),
    )

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisations = {o.pk: o for o in organisations}
        self.fields["organisation"].choices = [(o.pk, o.name) for o in organisations]

    def chosen_organisation(self):
        return self.organisations.get(self.cleaned_data["organisation"])


class DeclineForm(forms.Form):
    prefix = "decline"

    reason = forms.CharField(
        label=_("Reason for declining"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class WithdrawForm(forms.Form):
    prefix = "withdraw"

    reason = forms.CharField(label=_("Reason (optional)"), max_length=500, required=False)
