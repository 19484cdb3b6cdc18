from django import forms
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from casebridge.cooperation_models.forms import TermChoiceField, TermMultipleField
from casebridge.cooperation_models.models import Term, TermKind
from casebridge.forms import LocalDateInput, LocalDateTimeInput
from casebridge.hotline.models import MODE_REQUIRED, Answer, Contact, Referral
from casebridge.hotline.selectors import contact_by_reference
from casebridge.hotline.services import CONTACT_FIELDS, OPEN_CALL_HOURS, TERM_FIELDS
from casebridge.labels import pick_label
from casebridge.network.models import Organisation, Region

FIRST_ANALYSIS_PREFIX = "analysis_"
LOCAL_DATETIME = LocalDateTimeInput()


class ContactForm(forms.ModelForm):
    """The intake: one screen, in the order a call goes."""

    language = TermChoiceField(TermKind.LANGUAGE, label=_("Language"))
    caller_category = TermChoiceField(TermKind.CALLER_CATEGORY, label=_("Caller category"))
    caller_relation = TermChoiceField(
        TermKind.CALLER_RELATION, label=_("Relation to the person"), required=False
    )
    contact_category = TermChoiceField(
        TermKind.CONTACT_CATEGORY, label=_("Contact category"), widget=forms.RadioSelect
    )
    closing_reason = TermChoiceField(
        TermKind.CLOSING_REASON, label=_("Closing reason"), required=False
    )
    earlier_reference = forms.CharField(
        label=_("Earlier contact of this caller"),
        required=False,
        max_length=20,
        help_text=_("Its reference, e.g. HL-2026-00042, to link a repeat caller."),
    )
    concern_topics = TermMultipleField(
        TermKind.CONCERN_TOPIC, label=_("Concern topics"), required=False
    )
    # the limits of the API (hotline.api.ContactIn): the browser stops typing there
    summary = forms.CharField(
        label=_("summary"),
        max_length=20_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    advice = forms.CharField(
        label=capfirst(Contact._meta.get_field("advice").verbose_name),
        max_length=20_000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    next_steps = forms.CharField(
        label=_("next steps"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    class Meta:
        model = Contact
        # person_region follows from the caller's place; earlier_contact is entered by
        # reference (below), so that the form never lists other contacts.
        fields = [
            *(
                name
                for name in CONTACT_FIELDS
                if name not in {"person_region", "earlier_contact", "first_analysis"}
            ),
            "concern_topics",
        ]
        widgets = {
            "started_at": LocalDateTimeInput(seconds=True),
            "ended_at": LOCAL_DATETIME,
            "follow_up_on": LocalDateInput(),
            "summary": forms.Textarea(attrs={"rows": 4}),
            "advice": forms.Textarea(attrs={"rows": 3}),
            "next_steps": forms.Textarea(attrs={"rows": 2}),
            "caller_postcode": forms.TextInput(
                attrs={"autocomplete": "off", "inputmode": "numeric", "size": 8}
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ended_at"].help_text = _(
            "Empty: the call ends when you save (for a call that started within the last "
            "%(hours)d hours)."
        ) % {"hours": OPEN_CALL_HOURS}
        if self.instance.pk:
            # The choices are keyed by code; the stored value is the term itself.
            for name in TERM_FIELDS:
                term = getattr(self.instance, name)
                self.initial[name] = term.code if term else None
        self.points = list(Term.objects.of(TermKind.FIRST_ANALYSIS))
        answers = self.instance.first_analysis if self.instance.pk else {}
        for point in self.points:
            name = f"{FIRST_ANALYSIS_PREFIX}{point.code}"
            self.fields[name] = forms.ChoiceField(
                label=point.label,
                help_text=pick_label(point.attributes.get("description", {}), fallback=""),
                choices=[("", _("not asked")), *Answer.choices],
                required=False,
                widget=forms.RadioSelect(attrs={"class": "inline"}),
            )
            self.initial[name] = answers.get(point.code, "")
        self.fields["caller_name"].help_text = _("Only if given and needed.")
        # the caller's earlier contacts appear beside the form (htmx; the name is posted)
        # once the name is complete: the lookup matches whole names only, and each one is
        # an audited read — not one per pause in typing
        self.fields["caller_name"].widget.attrs.update(
            {
                "hx-post": reverse("hotline:earlier"),
                "hx-trigger": "change",
                "hx-target": "#earlier",
                "hx-include": "[name='anonymous']",
            }
        )
        self.fields["channel"].widget.attrs["autofocus"] = True
        region = self.fields["caller_region"]
        region.queryset = Region.objects.filter(level=Region.Level.STATE, active=True)
        region.label_from_instance = lambda r: r.label
        region.label = _("Caller's federal state")
        region.help_text = _("Only when the caller gives no postcode.")

    def _same_minute(self, name: str):
        """The stored time when the field shows it unchanged (the field holds minutes only:
        saving the form as it is must not cut off the seconds)."""
        value = self.cleaned_data.get(name)
        stored = getattr(self.instance, name) if self.instance.pk else None
        if value and stored and value == stored.replace(second=0, microsecond=0):
            return stored
        return value

    def clean_started_at(self):
        return self._same_minute("started_at")

    def clean_ended_at(self):
        return self._same_minute("ended_at")

    def resolve_earlier(self, actor) -> None:
        """Turn the reference into a contact the actor may see, or a field error."""

        reference = self.cleaned_data.get("earlier_reference", "").strip()
        if not reference:
            return
        earlier = contact_by_reference(actor, reference)
        if earlier is None or earlier.pk == self.instance.pk:
            self.add_error("earlier_reference", _("Unknown earlier contact."))
        else:
            self.cleaned_data["earlier_contact"] = earlier

    def contact_values(self) -> dict:
        values = {
            name: self.cleaned_data[name]
            for name in self.Meta.fields
            if name != "concern_topics" and name in self.cleaned_data
        }
        if "earlier_contact" in self.cleaned_data:
            values["earlier_contact"] = self.cleaned_data["earlier_contact"]
        values["first_analysis"] = self.first_analysis()
        return values

    def first_analysis(self) -> dict[str, str]:
        """The answered points of the first analysis, {code: answer}."""
        found = {}
        for point in self.points:
            answer = self.cleaned_data.get(f"{FIRST_ANALYSIS_PREFIX}{point.code}")
            if answer:
                found[point.code] = answer
        return found

    def first_analysis_fields(self):
        return [self[f"{FIRST_ANALYSIS_PREFIX}{point.code}"] for point in self.points]


class ReferralFields(forms.Form):
    """The optional referral part of the intake (and the re-routing form)."""

    partner = forms.ModelChoiceField(
        label=_("Refer to"),
        queryset=Organisation.objects.filter(active=True, is_hotline=False),
        required=False,
        widget=forms.RadioSelect,
    )
    mode = forms.ChoiceField(
        label=_("Referral type"),
        choices=Referral.Mode.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    consent_note = forms.CharField(label=_("How consent was given"), max_length=300, required=False)
    message = forms.CharField(
        max_length=5000,
        label=_("Message to the partner"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the partner needs to know; no more than the case needs."),
    )
    services = TermMultipleField(TermKind.SERVICE, label=_("Services needed"), required=False)

    def __init__(self, *args, require_partner: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.require_partner = require_partner
        self.fields["partner"].label_from_instance = lambda o: o.name

    def clean(self):
        data = super().clean()
        if self.require_partner and not data.get("partner"):
            self.add_error("partner", _("Choose the partner to refer to."))
        if data.get("partner") and not data.get("mode"):
            self.add_error(
                "mode",
                MODE_REQUIRED,
            )
        return data


class ContactSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Reference or words of the summary"), required=False, max_length=100
    )
    day_from = forms.DateField(label=_("From"), required=False, widget=LocalDateInput())
    day_to = forms.DateField(label=_("To"), required=False, widget=LocalDateInput())
    contact_category = TermChoiceField(
        TermKind.CONTACT_CATEGORY, label=_("Contact category"), required=False
    )
    caller_category = TermChoiceField(
        TermKind.CALLER_CATEGORY, label=_("Caller category"), required=False
    )
    follow_up_open = forms.BooleanField(label=_("Open follow-up"), required=False)


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for declining"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class AppointmentForm(forms.Form):
    on = forms.DateField(label=_("First appointment"), widget=LocalDateInput())
