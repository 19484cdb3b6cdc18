from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.cases import selectors as case_selectors
from casebridge.cooperation_models.forms import TermChoiceField, TermMultipleField
from casebridge.cooperation_models.models import TermKind
from casebridge.forms import LocalDateInput
from casebridge.sharing.models import Consent
from casebridge.sop.events import EVENTS, HOTLINE_EVENTS, RECORDED_EVENTS, Imminence, RiskLevel

DATE = LocalDateInput()


class EventForm(forms.Form):
    prefix = "event"  # several forms share the case page: unique ids and names

    code = forms.ChoiceField(label=_("Event"), choices=[(c, EVENTS[c]) for c in RECORDED_EVENTS])
    event_date = forms.DateField(
        label=_("Date (for a release: the release date)"), required=False, widget=DATE
    )


class SimulateForm(forms.Form):
    event = forms.ChoiceField(
        label=_("Event"), choices=[(c, label) for c, label in EVENTS.items() if c != "always"]
    )
    likelihood = forms.ChoiceField(
        label=_("Likelihood"), required=False, choices=[("", "–"), *RiskLevel.choices]
    )
    imminence = forms.ChoiceField(
        label=_("Imminence"), required=False, choices=[("", "–"), *Imminence.choices]
    )
    event_date = forms.DateField(label=_("Date of the event"), required=False, widget=DATE)


class ConsentForm(forms.Form):
    prefix = "consent"  # several forms share the case page: unique ids and names

    given_by = forms.ChoiceField(label=_("Given by"), choices=Consent.GivenBy.choices)
    purpose = forms.CharField(label=_("Purpose"), max_length=300)
    categories = TermMultipleField(TermKind.INFORMATION_CATEGORY, label=_("Categories"))
    recipients = forms.ModelMultipleChoiceField(
        label=_("Recipients"), queryset=None, widget=forms.CheckboxSelectMultiple
    )
    given_on = forms.DateField(label=_("Given on"), required=False, widget=DATE)
    valid_until = forms.DateField(label=_("Valid until"), required=False, widget=DATE)

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipients"].queryset = case_selectors.active_participants(case)
        self.fields["recipients"].label_from_instance = lambda p: p.organisation.name


class DisclosureForm(forms.Form):
    to_participant = forms.ModelChoiceField(label=_("Recipient"), queryset=None)
    entries = forms.ModelMultipleChoiceField(
        label=_("Items to disclose"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    excerpt = forms.CharField(
        max_length=10000,
        label=_("Or an excerpt (only what the recipient needs)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    excerpt_category = TermChoiceField(
        TermKind.INFORMATION_CATEGORY, label=_("Category of the excerpt"), required=False
    )
    purpose = forms.CharField(label=_("Purpose"), max_length=300)
    legal_basis = TermChoiceField(TermKind.LEGAL_BASIS, label=_("Legal basis"))
    consent = forms.ModelChoiceField(label=_("Consent"), queryset=None, required=False)
    justification = forms.CharField(
        max_length=5000,
        label=_("Written justification (without consent)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    obligation = forms.ModelChoiceField(
        label=_("Fulfils the obligation"), queryset=None, required=False
    )
    answers = forms.ModelChoiceField(
        label=_("Answers the request for information"), queryset=None, required=False
    )
    approver = forms.ModelChoiceField(
        label=_("Second person to approve (where one is needed)"),
        queryset=None,
        required=False,
        help_text=_(
            "A colleague of your organisation in this case, or a coordinator. Left empty, "
            "any colleague in the case may approve and the coordinators are told."
        ),
    )

    def __init__(self, *args, choices, **kwargs):
        """``choices`` comes from ``sharing.selectors.disclosure_choices`` (policy-filtered)."""
        super().__init__(*args, **kwargs)
        for name in ("to_participant", "entries", "consent", "obligation", "answers", "approver"):
            self.fields[name].queryset = choices[name]
        self.fields["to_participant"].label_from_instance = lambda p: (
            f"{p.organisation.name} ({p.role.label})"
        )
        self.fields["approver"].label_from_instance = lambda u: u.picker_label
        self.fields["entries"].label_from_instance = lambda e: (
            f"{e.occurred_on:%d.%m.%Y} · {e.category.label} · {e.title}"
        )
        consent = self.fields["consent"]
        # Offered: the consents not withdrawn. One withdrawn while this form was open is still
        # accepted here, so that the service can say who withdrew it and when.
        consent.choices = [
            ("", consent.empty_label),
            *(
                (c.pk, f"{c.given_on:%d.%m.%Y} · {c.purpose}")
                for c in choices["consent"]
                if c.withdrawn_at is None
            ),
        ]
        self.fields["obligation"].label_from_instance = lambda o: f"{o.label} → {o.recipient_label}"
        self.fields["answers"].label_from_instance = lambda r: (
            f"{r.requested_at:%d.%m.%Y} · {r.from_participant.organisation.name} · {r.purpose}"
        )


class InformationRequestForm(forms.Form):
    """Ask another participant of the case for specific information."""

    prefix = "ask"  # several forms share the case page: unique ids and names

    to_participant = forms.ModelChoiceField(label=_("Ask"), queryset=None)
    categories = TermMultipleField(
        TermKind.INFORMATION_CATEGORY, label=_("Categories of information asked for")
    )
    question = forms.CharField(
        label=_("What exactly do you ask for?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only what the purpose needs; no names of other people."),
    )
    purpose = forms.CharField(label=_("Purpose"), max_length=300)
    legal_basis = TermChoiceField(TermKind.LEGAL_BASIS, label=_("Legal basis"))
    due_on = forms.DateField(label=_("Answer by"), widget=DATE)

    def __init__(self, *args, participants, **kwargs):
        """``participants``: the other active participants of the case (the ones to ask)."""
        super().__init__(*args, **kwargs)
        self.fields["to_participant"].queryset = participants
        self.fields["to_participant"].label_from_instance = lambda p: (
            f"{p.organisation.name} ({p.role.label})"
        )
        self.fields["due_on"].initial = timezone.localdate() + timedelta(days=7)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Why the obligation does not apply"), max_length=300)


class EmergencyAccessForm(forms.Form):
    case = forms.CharField(label=_("Case number"), max_length=20)
    reason = forms.CharField(
        max_length=2000,
        label=_("Reason for the emergency access"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What is the danger, and why can the case's participants not be reached?"),
    )
    hours = forms.TypedChoiceField(
        label=_("Duration"),
        coerce=int,
        choices=[(h, _("%(count)d hours") % {"count": h}) for h in (1, 2, 4)],
        initial=1,
    )


class EmergencyReviewForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Was the access justified?"),
        choices=[
            ("justified", _("justified")),
            ("not_justified", _("not justified")),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        max_length=2000,
        label=_("Review note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ContactEventForm(forms.Form):
    code = forms.ChoiceField(label=_("What the call showed"), choices=list(HOTLINE_EVENTS.items()))


class ContactDisclosureForm(forms.Form):
    """What the hotline passes on, to whom, why, on which basis, and who approves."""

    recipient = forms.ModelChoiceField(label=_("Recipient"), queryset=None, required=False)
    excerpt = forms.CharField(
        max_length=4000,
        label=_("What is passed on"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text=_("Only what averting the danger needs. The contact's notes stay here."),
    )
    identity = forms.CharField(
        max_length=1000,
        label=_("Identifying details of the person of concern"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("Name, address, whatever the recipient needs to find the person."),
    )
    include_caller_contact = forms.BooleanField(
        label=_("Pass on the caller's contact details (for a call back)"), required=False
    )
    purpose = forms.CharField(label=_("Purpose"), max_length=300, required=False)
    legal_basis = TermChoiceField(TermKind.LEGAL_BASIS, label=_("Legal basis"), required=False)
    justification = forms.CharField(
        max_length=4000,
        label=_("Written weighing"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text=_(
            "Why this, to them, now, on this basis; why the danger cannot be averted otherwise."
        ),
    )
    approver = forms.ModelChoiceField(label=_("Second person"), queryset=None, required=False)

    def __init__(self, *args, recipients, approvers, identity_allowed: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipient"].queryset = recipients
        self.fields["recipient"].label_from_instance = lambda o: o.name
        self.fields["approver"].queryset = approvers
        self.fields["approver"].label_from_instance = lambda u: u.picker_label
        if not identity_allowed:
            del self.fields["identity"]
            del self.fields["include_caller_contact"]


class ContactDisclosureDecisionForm(forms.Form):
    note = forms.CharField(
        label=_("Why it goes back"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ContactDisclosureCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Why it is not sent"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
