from datetime import timedelta

from django import forms
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casebridge.access.policy import CASE_WORK_ROLES
from casebridge.accounts.models import Membership, User
from casebridge.cases.models import ConferenceItem, Entry, Goal, Phase, SafetyWarning, Transfer
from casebridge.cooperation_models.forms import TermChoiceField, TermMultipleField
from casebridge.cooperation_models.models import Term, TermKind
from casebridge.forms import LocalDateInput, LocalDateTimeInput
from casebridge.network.models import Organisation, Region
from casebridge.sop.events import Imminence, RiskLevel

DATE = LocalDateInput()


class CaseOpenForm(forms.Form):
    pseudonym = forms.CharField(
        label=_("Pseudonym"),
        max_length=60,
        help_text=_("How the case names the person, e.g. 'A. from Altona'."),
    )
    first_name = forms.CharField(label=_("First name"), max_length=120, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=120, required=False)
    date_of_birth = forms.DateField(label=_("Date of birth"), required=False, widget=DATE)
    address = forms.CharField(
        max_length=500,
        label=_("Postal address"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    referral = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def identity(self) -> dict:
        data = self.cleaned_data
        return {
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "date_of_birth": data["date_of_birth"].isoformat() if data["date_of_birth"] else "",
            "address": data["address"],
        }


class EntryForm(forms.Form):
    prefix = "entry"  # several forms share the case page: unique ids and names

    # an outcome assessment has its own form (section Outcomes): it carries levels
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(k, label) for k, label in Entry.Kind.choices if k != Entry.Kind.ASSESSMENT],
    )
    category = forms.ModelChoiceField(
        label=_("Information category"), queryset=Term.objects.none(), to_field_name="code"
    )
    occurred_on = forms.DateField(label=_("Date"), required=False, widget=DATE)
    title = forms.CharField(label=_("Title"), max_length=200)
    text = forms.CharField(
        max_length=50000,
        label=_("Text (for a risk judgement: the rationale)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    likelihood = forms.ChoiceField(
        label=_("Likelihood"), required=False, choices=[("", "–"), *RiskLevel.choices]
    )
    imminence = forms.ChoiceField(
        label=_("Imminence"), required=False, choices=[("", "–"), *Imminence.choices]
    )
    document = forms.FileField(label=_("Document"), required=False)

    def __init__(self, *args, writable=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Term.objects.filter(pk__in=[t.pk for t in writable])
        self.fields["category"].label_from_instance = lambda t: t.label


class RelatedPersonForm(forms.Form):
    prefix = "related"  # several forms share the case page: unique ids and names

    relation = TermChoiceField(TermKind.CALLER_RELATION, label=_("Relation"))
    name = forms.CharField(label=_("Name"), max_length=200)
    phone = forms.CharField(label=_("Phone"), max_length=60, required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class GoalForm(forms.Form):
    prefix = "goal"  # several forms share the case page: unique ids and names

    template = TermChoiceField(
        TermKind.GOAL_TEMPLATE,
        label=_("From a template"),
        required=False,
        help_text=_("Ties the goal to an outcome dimension; title and horizon come with it."),
    )
    horizon = forms.ChoiceField(
        label=_("Horizon"), choices=[("", "—"), *Goal.Horizon.choices], required=False
    )
    title = forms.CharField(label=_("Goal"), max_length=300, required=False)
    target_date = forms.DateField(label=_("Target date"), required=False, widget=DATE)


class ParticipantForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("Organisation"),
        # the type is in every option's label: one query, not one per organisation
        queryset=Organisation.objects.filter(active=True).select_related("type"),
    )
    role = TermChoiceField(TermKind.CASE_ROLE, label=_("Role in the case"))
    members = forms.ModelMultipleChoiceField(
        label=_("Named people"), queryset=User.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    valid_until = forms.DateTimeField(
        label=_("Until (optional)"),
        required=False,
        widget=LocalDateTimeInput(),
    )
    reason = forms.CharField(label=_("Why this organisation joins"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].label_from_instance = lambda o: f"{o.name} ({o.type.label})"
        # Roles other than the lead: a key missing from JSON compares as NULL in SQL, so
        # the lead is excluded by its code rather than by a JSON lookup.
        roles = Term.objects.of("case_role")
        lead = [t.code for t in roles if t.attributes.get("lead")]
        self.fields["role"].queryset = roles.exclude(code__in=lead)
        organisation_id = self.data.get("organisation") if self.is_bound else None
        if organisation_id and str(organisation_id).isdigit():
            self.fields["members"].queryset = staff_of(int(organisation_id))
        self.fields["members"].label_from_instance = lambda u: u.picker_label


def staff_of(organisation_id: int):
    return (
        User.objects.filter(
            is_active=True,
            memberships__in=Membership.objects.active().filter(
                organisation_id=organisation_id, role__in=CASE_WORK_ROLES
            ),
        )
        .distinct()
        .order_by("last_name")
    )


class ScopeForm(forms.Form):
    read = TermMultipleField(TermKind.INFORMATION_CATEGORY, label=_("May read"), required=False)
    write = TermMultipleField(TermKind.INFORMATION_CATEGORY, label=_("May write"), required=False)
    reason = forms.CharField(label=_("Reason for the change"), max_length=300)


class HandoverForm(forms.Form):
    prefix = "handover"  # several forms share the case page: unique ids and names

    to_worker = forms.ModelChoiceField(label=_("Hand over to"), queryset=User.objects.none())
    note = forms.CharField(
        max_length=5000, label=_("Handover note"), widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, organisation_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_worker"].queryset = staff_of(organisation_id)
        self.fields["to_worker"].label_from_instance = lambda u: u.picker_label


class PhaseForm(forms.Form):
    prefix = "phase"  # several forms share the case page: unique ids and names

    phase = forms.ChoiceField(label=_("Phase"), choices=Phase.choices)


class CloseForm(forms.Form):
    prefix = "close"  # several forms share the case page: unique ids and names

    closing_reason = TermChoiceField(TermKind.CASE_CLOSING_REASON, label=_("Closing reason"))
    confirm = forms.BooleanField(
        label=_("Yes, close this case for every participant"),
        error_messages={"required": _("Please confirm that the case is to be closed.")},
    )


class ConferenceForm(forms.Form):
    prefix = "conference"  # several forms share the case page: unique ids and names

    held_on = forms.DateField(label=_("Date"), widget=DATE)
    title = forms.CharField(label=_("Title"), max_length=200)


class ConferenceItemForm(forms.Form):
    prefix = "item"  # several forms share the case page: unique ids and names

    kind = forms.ChoiceField(label=_("Kind"), choices=ConferenceItem.Kind.choices)
    category = forms.ModelChoiceField(
        label=_("Information category"), queryset=Term.objects.none(), to_field_name="code"
    )
    text = forms.CharField(
        max_length=10000, label=_("Text"), widget=forms.Textarea(attrs={"rows": 2})
    )
    owner = forms.ModelChoiceField(
        label=_("Owner (action items)"), queryset=User.objects.none(), required=False
    )
    due_on = forms.DateField(label=_("Due"), required=False, widget=DATE)

    def __init__(self, *args, writable=(), people=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Term.objects.filter(pk__in=[t.pk for t in writable])
        self.fields["category"].label_from_instance = lambda t: t.label
        self.fields["owner"].queryset = User.objects.filter(pk__in=[u.pk for u in people])
        self.fields["owner"].label_from_instance = lambda u: u.picker_label


class SafetyWarningForm(forms.Form):
    prefix = "warning"  # several forms share the case page: unique ids and names

    kind = forms.ChoiceField(label=_("Precaution"), choices=SafetyWarning.Kind.choices)
    note = forms.CharField(
        label=_("Note for every participant"),
        max_length=200,
        required=False,
        help_text=_("Every participant reads it: the precaution, not what lies behind it."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only your organisation and the lead read it."),
    )
    review_on = forms.DateField(label=_("Review by"), widget=DATE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["review_on"].initial = timezone.localdate() + timedelta(days=90)


class TransferForm(forms.Form):
    """Propose to move the case to another organisation (the section "phase and closing")."""

    prefix = "transfer"  # several forms share the case page: unique ids and names

    to_organisation = forms.ModelChoiceField(
        label=_("Receiving organisation"), queryset=Organisation.objects.none()
    )
    region = forms.ModelChoiceField(
        label=_("Where the person now lives"),
        queryset=Region.objects.none(),
        to_field_name="code",
        help_text=_("The organisation must counsel in this federal state or district."),
    )
    reason = forms.CharField(
        label=_("Reason for the transfer"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example: the person moved; we have no capacity left."),
    )
    consent_note = forms.CharField(
        label=_("How the person consented"),
        max_length=300,
        required=False,
        help_text=_("For example: in writing on 3 May, the form is in the paper file."),
    )
    legal_basis = TermChoiceField(
        TermKind.LEGAL_BASIS,
        label=_("Or: legal basis (without consent)"),
        required=False,
    )
    justification = forms.CharField(
        label=_("Written justification (with a legal basis)"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    handover_days = forms.IntegerField(
        label=_("Handover period (days)"),
        initial=Transfer.DEFAULT_HANDOVER_DAYS,
        help_text=_(
            "Your organisation keeps a seat in the case this long after the acceptance "
            "(1 to 30 days), then its participation ends by itself."
        ),
    )

    def __init__(self, *args, organisations=None, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organisations is not None:
            self.fields["to_organisation"].queryset = organisations
        self.fields["to_organisation"].label_from_instance = lambda o: f"{o.name} ({o.type.label})"
        if regions is not None:
            self.fields["region"].queryset = regions
        self.fields["region"].label_from_instance = lambda r: r.label


class TransferAcceptForm(forms.Form):
    prefix = "accept"

    lead_worker = forms.ModelChoiceField(label=_("New lead worker"), queryset=User.objects.none())

    def __init__(self, *args, organisation_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_worker"].queryset = staff_of(organisation_id)
        self.fields["lead_worker"].label_from_instance = lambda u: u.picker_label


class TransferDeclineForm(forms.Form):
    prefix = "decline"

    reason = forms.CharField(
        label=_("Why your organisation declines"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class InvitationForm(forms.Form):
    """The lead invites a named outside professional to this case."""

    prefix = "invitation"  # several forms share the people section: unique ids and names

    organisation = forms.ModelChoiceField(
        label=_("Their organisation"),
        queryset=None,
        required=False,
        help_text=_(
            "Not in the directory? Propose it (Directory → Propose an organisation); a "
            "coordinator confirms it."
        ),
    )
    role = forms.ModelChoiceField(
        label=_("Role in the case (if the organisation does not take part yet)"),
        queryset=Term.objects.none(),
        required=False,
    )
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    until = forms.DateField(label=_("Takes part until"), required=False, widget=DATE)

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        self.fields["organisation"].label_from_instance = lambda o: o.name
        # a guest never leads (the key is absent on most roles: "not true" would miss them)
        self.fields["role"].queryset = Term.objects.of(TermKind.CASE_ROLE).filter(
            Q(attributes__lead__isnull=True) | Q(attributes__lead=False)
        )
        self.fields["role"].label_from_instance = lambda t: t.label
        self.fields["until"].initial = timezone.localdate() + timedelta(days=90)


def invitation_link_base(request) -> str:
    """The acceptance page's address without the secret (the service appends the secret),
    for the page and the API alike."""
    return request.build_absolute_uri(reverse("cases:invitation_accept", args=["-"]))[:-2]


class AcceptInvitationForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(
        label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password_again = forms.CharField(
        label=_("Password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", _("The two passwords differ."))
        return data
