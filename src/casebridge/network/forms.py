from django import forms
from django.utils.translation import gettext_lazy as _

from casebridge.accounts.models import User
from casebridge.cooperation_models.models import Term, TermKind
from casebridge.network.models import ContactPoint, Organisation, OrganisationType, Region, Sector
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
