from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from casebridge.accounts.models import User
from casebridge.cooperation_models.models import Term, TermKind
from casebridge.forms import LocalDateInput, LocalDateTimeInput
from casebridge.network.models import (
    ContactPoint,
    Lesson,
    Meeting,
    Organisation,
    OrganisationType,
    Region,
    Sector,
)
from casebridge.network.selectors import invitable_users, person_label
from casebridge.network.services import ORGANISATION_FIELDS


def _all(choices) -> list:
    return [("", _("all")), *choices]


def type_choices() -> list:
    return _all((t.code, t.label) for t in OrganisationType.objects.filter(active=True))


def state_choices() -> list:
    states = Region.objects.filter(level=Region.Level.STATE, active=True)
    return _all(sorted(((r.code, r.label) for r in states), key=lambda choice: choice[1]))


def term_choices(kind: str) -> list:
    return _all((t.code, t.label) for t in Term.objects.of(kind))


class _RegionFilter:
    def selected_region(self) -> Region | None:
        code = self.cleaned_data.get("region")
        return Region.objects.filter(code=code).first() if code else None


class DirectoryFilterForm(_RegionFilter, forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    sector = forms.ChoiceField(label=_("Sector"), required=False)
    type = forms.ChoiceField(label=_("Type"), required=False)
    region = forms.ChoiceField(label=_("Federal state"), required=False)
    service = forms.ChoiceField(label=_("Service"), required=False)
    language = forms.ChoiceField(label=_("Language"), required=False)
    governance = forms.ChoiceField(
        label=_("Led by"), required=False, choices=_all(Organisation.Governance.choices)
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sector"].choices = _all(
            (s.code, s.label) for s in Sector.objects.filter(active=True)
        )
        self.fields["type"].choices = type_choices()
        self.fields["region"].choices = state_choices()
        self.fields["service"].choices = term_choices(TermKind.SERVICE)
        self.fields["language"].choices = term_choices(TermKind.LANGUAGE)


class ContactPointFilterForm(_RegionFilter, forms.Form):
    q = forms.CharField(label=_("Place, organisation or function"), required=False, max_length=100)
    type = forms.ChoiceField(label=_("Type"), required=False)
    region = forms.ChoiceField(label=_("Federal state"), required=False)
    vacant = forms.BooleanField(label=_("Only vacant"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = type_choices()
        self.fields["region"].choices = state_choices()


class OrganisationForm(forms.ModelForm):
    website = forms.URLField(label=_("website"), required=False, assume_scheme="https")
    description = forms.CharField(
        label=capfirst(Organisation._meta.get_field("description").verbose_name),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    class Meta:
        model = Organisation
        fields = list(ORGANISATION_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].queryset = OrganisationType.objects.filter(active=True)
        self.fields["type"].label_from_instance = lambda t: t.label


class ContactPointForm(forms.ModelForm):
    class Meta:
        model = ContactPoint
        fields = ["function", "person", "name", "phone", "email"]

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = User.objects.filter(
            is_active=True,
            memberships__in=organisation.memberships.active(),
        ).distinct()
        self.fields["name"].help_text = _(
            "Enter a name only if the person has no casebridge account."
        )


# --- meetings and action items (issue 8) -------------------------------------------------


def _people():
    return invitable_users()


class MeetingForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"))
    starts_at = forms.DateTimeField(label=_("Starts"), widget=LocalDateTimeInput())
    ends_at = forms.DateTimeField(label=_("Ends"), widget=LocalDateTimeInput())
    location = forms.CharField(label=_("Place or link"), max_length=200, required=False)
    agenda = forms.CharField(
        max_length=10000,
        label=_("Agenda"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("The network's topics; never names or details of a person in a case."),
    )
    invitees = forms.ModelMultipleChoiceField(
        label=_("Invite"), queryset=User.objects.none(), required=False
    )

    def __init__(self, *args, **kwargs):

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = Meeting.Kind.choices
        self.fields["invitees"].queryset = _people()
        self.fields["invitees"].label_from_instance = person_label


class MeetingEditForm(MeetingForm):
    minutes = forms.CharField(
        max_length=50000,
        label=_("Minutes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("What was discussed; never names or details of a person in a case."),
    )
    status = forms.ChoiceField(label=_("Status"))

    def __init__(self, *args, **kwargs):

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = Meeting.Status.choices
        self.fields["invitees"].label = _("Invite more people")


class DecisionForm(forms.Form):
    text = forms.CharField(label=_("Decision"), max_length=1000)


class ActionItemForm(forms.Form):
    title = forms.CharField(label=_("Action"), max_length=300)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none())
    due_on = forms.DateField(label=_("Due"), widget=LocalDateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _people()
        self.fields["owner"].label_from_instance = person_label


class AttendanceForm(forms.Form):
    present = forms.MultipleChoiceField(
        label=_("Present"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, meeting, **kwargs):
        super().__init__(*args, **kwargs)
        invitations = list(meeting.invitations.all())
        self.fields["present"].choices = [(str(i.user_id), str(i.user)) for i in invitations]
        if not self.is_bound:
            self.initial["present"] = [str(i.user_id) for i in invitations if i.attended]


# --- lessons learned (issue 8) -----------------------------------------------------------


class LessonForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    outcome = forms.ChoiceField(label=_("How did it go?"), widget=forms.RadioSelect)
    what_happened = forms.CharField(
        max_length=10000,
        label=_("What happened"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("The situation and the course of events, without names, numbers or places."),
    )
    what_we_learned = forms.CharField(
        max_length=10000, label=_("What we learned"), widget=forms.Textarea(attrs={"rows": 4})
    )
    what_we_change = forms.CharField(
        max_length=10000, label=_("What we change"), widget=forms.Textarea(attrs={"rows": 4})
    )
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=300,
        help_text=_("Separated by commas, e.g. handover, consent, school"),
    )
    show_author = forms.BooleanField(label=_("Show my name with the lesson"), required=False)

    def __init__(self, *args, **kwargs):

        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = Lesson.Outcome.choices


class LessonSearchForm(forms.Form):
    """Sent by POST: free text may carry what does not belong in a URL."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    tag = forms.SlugField(label=_("Tag"), required=False, max_length=40)
    outcome = forms.ChoiceField(label=_("How it went"), required=False)

    def __init__(self, *args, **kwargs):

        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = _all(Lesson.Outcome.choices)


class OrganisationProposalForm(forms.ModelForm):
    """An organisation the directory lacks, proposed by a case worker."""

    reason = forms.CharField(
        label=_("Why the network needs it"),
        max_length=300,
        help_text=_("For example: the psychotherapist treating the person in a case works here."),
    )

    class Meta:
        model = Organisation
        fields = ["name", "type", "governance", "street", "postcode", "city", "phone", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].queryset = OrganisationType.objects.filter(active=True)
        self.fields["type"].label_from_instance = lambda t: t.label
