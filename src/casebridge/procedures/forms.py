"""Forms of the SOP as an agreement. The rule form speaks the model's vocabulary (event,
condition, obligation, recipient, categories, deadline, legal basis, consent, second
approval, overrides) and turns it into the rule's data; the service checks the result
with ``sop.check`` and refuses a change that would give the draft an error."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from casebridge.cooperation_models.forms import TermChoiceField, TermMultipleField
from casebridge.cooperation_models.models import Term
from casebridge.cooperation_models.schema import CODE_PATTERN
from casebridge.forms import LocalDateInput
from casebridge.labels import pick_label
from casebridge.network.models import OrganisationType, Sector
from casebridge.sop.events import EVENTS, HOTLINE_EVENTS, Imminence, RiskLevel

OBLIGATIONS = [
    ("must_inform", _("must inform")),
    ("may_inform", _("may inform")),
    ("must_not_share", _("must not share")),
]
DEADLINE_KINDS = [
    ("without_delay", _("without delay")),
    ("within_hours", _("within … hours")),
    ("within_days", _("within … days")),
    ("days_before_event", _("… days before the event's date")),
]


def _languages():
    return [code for code, _name in settings.LANGUAGES]


def _add_texts(form, description_label, *, rows: int) -> None:
    """A name (required in the installation's language) and a description per language."""
    for language in _languages():
        form.fields[f"label_{language}"] = forms.CharField(
            label=_("Name (%(language)s)") % {"language": language},
            max_length=200,
            required=language == settings.LANGUAGE_CODE,
        )
        form.fields[f"description_{language}"] = forms.CharField(
            label=description_label % {"language": language},
            max_length=2000,
            required=False,
            widget=forms.Textarea(attrs={"rows": rows}),
        )


def recipient_choices(*, lead_option: str | None = None) -> list:
    """Who a rule is about, as "kind:code": case roles, organisation types, sectors."""
    roles = [(f"role:{t.code}", t.label) for t in Term.objects.of("case_role")]
    types = [
        (f"organisation_type:{t.code}", t.label)
        for t in OrganisationType.objects.filter(active=True)
    ]
    sectors = [(f"sector:{s.code}", s.label) for s in Sector.objects.filter(active=True)]
    first = [("", lead_option)] if lead_option else [("", "–")]
    return [
        *first,
        (_("Role in the case"), roles),
        (_("Organisation type"), types),
        (_("Sector"), sectors),
        (_("Everybody"), [("all", _("every other participant"))]),
    ]


def _choice_of(spec) -> str:
    """A recipient or sender as its choice: "all" or "kind:code"."""
    if spec.all:
        return "all"
    field = next(f for f in ("role", "organisation_type", "sector") if getattr(spec, f))
    return f"{field}:{getattr(spec, field)}"


class DraftStartForm(forms.Form):
    based_on = forms.ModelChoiceField(
        label=_("Start from the version"), queryset=None, empty_label=None
    )
    version = forms.CharField(label=_("New version"), max_length=40)

    def __init__(self, *args, versions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["based_on"].queryset = versions


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Procedure file (TOML)"))


class DraftForm(forms.Form):
    version = forms.CharField(label=_("Version"), max_length=40)
    effective_from = forms.DateField(label=_("Proposed to take effect on"), widget=LocalDateInput())
    parties = forms.MultipleChoiceField(
        label=_("Parties (organisation types that sign)"), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parties"].choices = [
            (t.code, t.label) for t in OrganisationType.objects.filter(active=True)
        ]
        _add_texts(self, _("Description (%(language)s)"), rows=3)

    @staticmethod
    def initial_of(protocol) -> dict:
        initial = {
            "version": protocol.version,
            "effective_from": protocol.effective_from,
            "parties": list(protocol.parties),
        }
        for language in _languages():
            initial[f"label_{language}"] = protocol.labels.get(language, "")
            initial[f"description_{language}"] = protocol.description.get(language, "")
        return initial

    def texts(self, prefix: str) -> dict:
        return {
            language: self.cleaned_data.get(f"{prefix}_{language}", "") for language in _languages()
        }


class RuleForm(forms.Form):
    code = forms.RegexField(
        label=_("Code"),
        regex=CODE_PATTERN,
        max_length=64,
        help_text=_("lower-case letters, digits, - and _; e.g. youth-office-72h"),
        error_messages={"invalid": _("Use lower-case letters, digits, - and _ only.")},
    )
    event = forms.ChoiceField(
        label=_("When (event)"),
        choices=[
            (_("In a case"), list(EVENTS.items())),
            (_("At the hotline"), list(HOTLINE_EVENTS.items())),
        ],
    )
    min_likelihood = forms.ChoiceField(
        label=_("Only if the likelihood is at least"),
        required=False,
        choices=[("", "–"), *RiskLevel.choices],
    )
    min_imminence = forms.ChoiceField(
        label=_("Only if the imminence is at least"),
        required=False,
        choices=[("", "–"), *Imminence.choices],
    )
    sender = forms.ChoiceField(label=_("Who informs"), required=False)
    obligation = forms.ChoiceField(label=_("Obligation"), choices=OBLIGATIONS)
    recipient = forms.ChoiceField(label=_("Recipient"))
    categories = TermMultipleField("information_category", label=_("Information categories"))
    deadline_kind = forms.ChoiceField(label=_("Deadline"), choices=DEADLINE_KINDS)
    deadline_amount = forms.IntegerField(
        label=_("Number of hours or days"), required=False, min_value=1, max_value=999
    )
    legal_basis = TermChoiceField("legal_basis", label=_("Legal basis"))
    consent_required = forms.BooleanField(label=_("Consent required first"), required=False)
    second_approval = forms.BooleanField(label=_("A second person approves"), required=False)
    overrides = forms.MultipleChoiceField(
        label=_("Overrides (barriers this rule may break, with a legal duty)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, other_rules=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipient"].choices = recipient_choices()
        # who informs: the case's lead, unless the rule names another party (never "all")
        self.fields["sender"].choices = recipient_choices(lead_option=_("the case's lead"))[:-1]
        self.fields["overrides"].choices = [
            (r.code, f"{r.code} · {pick_label(r.label, fallback=r.code)}") for r in other_rules
        ]
        _add_texts(self, _("Explanation (%(language)s)"), rows=2)

    def clean(self):
        data = super().clean()
        kind, amount = data.get("deadline_kind"), data.get("deadline_amount")
        if kind and kind != "without_delay" and not amount:
            self.add_error("deadline_amount", _("Give the number of hours or days."))
        return data

    @staticmethod
    def initial_of(rule) -> dict:
        kind, _sep, amount = rule.deadline.partition(":")
        initial = {
            "sender": _choice_of(rule.sender) if rule.sender else "",
            "code": rule.code,
            "event": rule.event,
            "min_likelihood": rule.condition.min_likelihood or "",
            "min_imminence": rule.condition.min_imminence or "",
            "obligation": rule.obligation,
            "recipient": _choice_of(rule.recipient),
            "categories": list(rule.categories),
            "deadline_kind": kind,
            "deadline_amount": int(amount) if amount else None,
            "legal_basis": rule.legal_basis,
            "consent_required": rule.consent_required,
            "second_approval": rule.second_approval,
            "overrides": list(rule.overrides),
        }
        for language in _languages():
            initial[f"label_{language}"] = rule.label.get(language, "")
            initial[f"description_{language}"] = rule.description.get(language, "")
        return initial

    def rule_data(self) -> dict:
        """The rule as the model file writes it (``RuleEntry``'s shape)."""
        data = self.cleaned_data
        kind = data["deadline_kind"]
        deadline = kind if kind == "without_delay" else f"{kind}:{data['deadline_amount']}"
        target = data["recipient"]
        recipient = {"all": True} if target == "all" else dict([target.split(":", 1)])
        condition = {key: data[key] for key in ("min_likelihood", "min_imminence") if data.get(key)}
        rule = {
            "code": data["code"],
            "event": data["event"],
            "obligation": data["obligation"],
            "recipient": recipient,
            "categories": [t.code for t in data["categories"]],
            "deadline": deadline,
            "legal_basis": data["legal_basis"].code,
            "consent_required": data["consent_required"],
            "second_approval": data["second_approval"],
            "overrides": list(data["overrides"]),
            "label": {
                language: data[f"label_{language}"]
                for language in _languages()
                if data.get(f"label_{language}")
            },
            "description": {
                language: data[f"description_{language}"]
                for language in _languages()
                if data.get(f"description_{language}")
            },
        }
        if condition:
            rule["condition"] = condition
        if data.get("sender"):
            rule["sender"] = dict([data["sender"].split(":", 1)])
        return rule


class SignatoriesForm(forms.Form):
    legal_reviewer = forms.ChoiceField(label=_("Legal reviewer"))

    def __init__(self, *args, protocol, choices, type_labels, **kwargs):
        super().__init__(*args, **kwargs)
        for party in protocol.parties:
            self.fields[f"party_{party}"] = forms.ChoiceField(
                label=_("Signs for %(party)s") % {"party": type_labels.get(party, party)},
                choices=[("", "–"), *choices.get(party, [])],
            )
        self.fields["legal_reviewer"].choices = [("", "–"), *choices.get("", [])]
        self.order_fields([f"party_{p}" for p in protocol.parties] + ["legal_reviewer"])


class CommentForm(forms.Form):
    rule = forms.ChoiceField(label=_("On the rule"), required=False)
    text = forms.CharField(
        label=_("Comment"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, rules=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = [("", _("the whole version"))] + [
            (r.code, f"{r.code} · {pick_label(r.label, fallback=r.code)}") for r in rules
        ]


class SignForm(forms.Form):
    content_hash = forms.CharField(widget=forms.HiddenInput, max_length=64)


class ActivateForm(forms.Form):
    effective_from = forms.DateField(label=_("Takes effect on"), widget=LocalDateInput())
    content_hash = forms.CharField(widget=forms.HiddenInput, max_length=64)


class ReplayForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=LocalDateInput())
    end = forms.DateField(label=_("Until"), widget=LocalDateInput())

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The end lies before the start."))
        return data
