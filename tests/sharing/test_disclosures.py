"""Events create obligations; disclosures are the only way past a scope; consents carry them."""

from __future__ import annotations

import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from casebridge.access.policy import Action, decide
from casebridge.audit.models import AuditEvent
from casebridge.cases import services as case_services
from casebridge.sharing import services
from casebridge.sharing.models import Disclosure, Obligation
from tests.builders import category, make_user, org

pytestmark = pytest.mark.django_db


def legal(code):
    from casebridge.cooperation_models.models import Term

    return Term.objects.get(kind="legal_basis", code=code)


def very_likely(personas, world):
    return case_services.entry_create(
        actor=personas.partner,
        case=world.case,
        data=case_services.EntryData(
            kind="risk",
            category=category("risk_assessment"),
            title="Neue Einschätzung",
            text="Konkrete Anschlagspläne geschildert.",
            likelihood="very_likely",
            imminence="imminent",
        ),
    )


def test_a_very_likely_judgement_creates_the_duty_to_inform_the_police(personas, world):
    very_likely(personas, world)
    duty = Obligation.objects.get(case=world.case, rule="duty-138")
    assert duty.recipient == world.police
    assert duty.responsible == personas.partner
    assert duty.second_approval
    assert duty.categories == ["risk_assessment", "identity"]


def test_disclosure_with_second_approval_fulfils_the_duty_and_shows_exactly_the_excerpt(
    personas, world
):
    entry = very_likely(personas, world)
    duty = Obligation.objects.get(case=world.case, rule="duty-138")
    disclosure = services.disclosure_request(
        actor=personas.partner,
        case=world.case,
        to_participant=world.police,
        entries=[entry],
        excerpt="A. plant nach eigener Aussage einen Angriff am Wochenende.",
        excerpt_category=category("risk_assessment"),
        purpose="Gefahrenabwehr",
        legal_basis=legal("duty_to_report"),
        justification="§ 138 StGB: geplante Tat, sehr wahrscheinlich.",
        obligation=duty,
    )
    assert disclosure.status == Disclosure.Status.PENDING
    assert not decide(personas.police, Action.VIEW, entry)  # not before approval
    with pytest.raises(PermissionDenied):
        services.disclosure_decide(actor=personas.partner, disclosure=disclosure, approve=True)
    colleague = make_user("colleague", org(personas.partner), "partner_counsellor")
    world.lead.members.add(colleague)
    services.disclosure_decide(actor=colleague, disclosure=disclosure, approve=True)
    duty.refresh_from_db()
    assert duty.status == Obligation.Status.FULFILLED
    assert decide(personas.police, Action.VIEW, entry)
    assert not decide(personas.police, Action.VIEW, world.counselling)  # nothing else
    assert not decide(personas.police, Action.VIEW, world.risk)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"legal_basis": None}, "legal_basis"),
        ({"justification": ""}, "justification"),
        ({"legal_basis": "consent_gdpr", "justification": ""}, "consent"),
        ({"entries": [], "excerpt": ""}, "entries"),
        ({"purpose": " "}, "purpose"),
    ],
)
def test_a_disclosure_without_basis_or_justification_is_refused(personas, world, kwargs, field):
    args = {
        "entries": [world.coordination],
        "excerpt": "",
        "purpose": "Abstimmung",
        "legal_basis": legal("justifying_emergency"),
        "justification": "Gefahr",
    }
    args.update(kwargs)
    if isinstance(args["legal_basis"], str):
        args["legal_basis"] = legal(args["legal_basis"])
    with pytest.raises(ValidationError) as caught:
        services.disclosure_request(
            actor=personas.partner, case=world.case, to_participant=world.police, **args
        )
    assert field in caught.value.message_dict
    assert not Disclosure.objects.exists()


def police_consent(personas, world):
    """The person's consent to share risk assessments with the police liaison."""
    return services.consent_record(
        actor=personas.partner,
        case=world.case,
        given_by="person",
        purpose="Austausch mit der Polizei",
        categories=[category("risk_assessment")],
        recipients=[world.police],
    )


def test_consent_carries_a_disclosure_and_its_withdrawal_blocks_the_next(personas, world):
    consent = police_consent(personas, world)
    services.disclosure_request(
        actor=personas.partner,
        case=world.case,
        to_participant=world.police,
        entries=[world.risk],
        purpose="Abstimmung",
        legal_basis=legal("consent_special_categories"),
        consent=consent,
    )
    assert decide(
        personas.police, Action.VIEW, world.risk
    )  # approved at once: consent, no approval
    services.consent_withdraw(actor=personas.partner, consent=consent)
    assert Obligation.objects.filter(case=world.case, rule="consent-withdrawn").exists()
    with pytest.raises(ValidationError) as caught:
        services.disclosure_request(
            actor=personas.partner,
            case=world.case,
            to_participant=world.police,
            entries=[world.risk],
            purpose="noch einmal",
            legal_basis=legal("consent_special_categories"),
            consent=consent,
        )
    assert "withdrawn" in caught.value.message_dict["consent"][0]


def test_consent_must_cover_the_categories(personas, world):
    consent = services.consent_record(
        actor=personas.partner,
        case=world.case,
        given_by="guardian",
        purpose="nur Koordination",
        categories=[category("case_coordination")],
        recipients=[world.police],
    )
    with pytest.raises(ValidationError) as caught:
        services.disclosure_request(
            actor=personas.partner,
            case=world.case,
            to_participant=world.police,
            entries=[world.counselling],
            purpose="x",
            legal_basis=legal("consent_gdpr"),
            consent=consent,
        )
    assert "does not cover every category" in caught.value.message_dict["consent"][0]


def test_cannot_disclose_what_one_may_not_read(personas, world):
    with pytest.raises(ValidationError) as caught:
        services.disclosure_request(
            actor=personas.police,
            case=world.case,
            to_participant=world.lead,
            entries=[world.counselling],
            purpose="x",
            legal_basis=legal("justifying_emergency"),
            justification="y",
        )
    assert "entries" in caught.value.message_dict


def test_simulation_page_changes_nothing(personas, world):
    before = (
        Obligation.objects.count(),
        AuditEvent.objects.filter(action="sharing.event.raise").count(),
    )
    response = personas.client(personas.partner).get(
        reverse("sharing:simulate", args=[world.case.pk]),
        {"event": "risk_judgement_recorded", "likelihood": "very_likely", "imminence": "imminent"},
    )
    assert response.status_code == 200
    assert {o.rule for o in response.context["outcomes"]} >= {"duty-138", "present-danger-34"}
    assert (
        Obligation.objects.count(),
        AuditEvent.objects.filter(action="sharing.event.raise").count(),
    ) == before


def test_recorded_release_creates_a_dated_obligation(personas, world):
    response = personas.client(personas.partner).post(
        reverse("sharing:event_record", args=[world.case.pk]),
        {"event-code": "release_scheduled", "event-event_date": "2027-03-01"},
    )
    assert response.status_code == 302
    lead = Obligation.objects.get(case=world.case, rule="release-lead")
    assert lead.due_at.date().isoformat() == "2027-02-15"


def test_release_without_date_is_refused(personas, world):
    with pytest.raises(ValidationError) as caught:
        services.event_record(actor=personas.partner, case=world.case, code="release_scheduled")
    assert "event_date" in caught.value.message_dict


def test_register_is_for_the_data_protection_officer(personas, world):
    assert personas.client(personas.dpo).get(reverse("sharing:register")).status_code == 200
    assert personas.client(personas.partner).get(reverse("sharing:register")).status_code == 404


def test_worker_reminds_and_escalates(personas, world, mailoutbox, settings):
    from datetime import timedelta

    from django.utils import timezone

    from casebridge.sharing.tasks import remind_and_escalate

    very_likely(personas, world)
    make_user("ngo_coordinator", org(personas.partner), "coordinator")
    Obligation.objects.filter(case=world.case).update(due_at=timezone.now() - timedelta(hours=1))
    result = remind_and_escalate.call()
    assert result["reminded"] >= 1 and result["escalated"] >= 1
    subjects = [m.subject for m in mailoutbox]
    assert any(s.startswith("casebridge: overdue") for s in subjects)
    assert all("Anschlag" not in m.body and "Beispiel" not in m.body for m in mailoutbox)
    assert remind_and_escalate.call() == {
        "reminded": 0,
        "escalated": 0,
        "requests_reminded": 0,
        "requests_escalated": 0,
        "hotline_escalated": 0,
    }


def test_a_disclosure_fulfils_matching_obligations_without_naming_them(personas, world):
    services.event_record(actor=personas.partner, case=world.case, code="child_welfare_concern")
    very_likely(personas, world)
    duty = Obligation.objects.get(case=world.case, rule="duty-138")
    colleague = make_user("colleague", org(personas.partner), "partner_counsellor")
    world.lead.members.add(colleague)
    disclosure = services.disclosure_request(
        actor=personas.partner,
        case=world.case,
        to_participant=world.police,
        entries=[world.risk],
        excerpt="Name: A. B.",
        excerpt_category=category("identity"),
        purpose="§ 138",
        legal_basis=legal("duty_to_report"),
        justification="geplante Tat",
    )
    services.disclosure_decide(actor=colleague, disclosure=disclosure, approve=True)
    duty.refresh_from_db()
    assert duty.status == Obligation.Status.FULFILLED


# -- a consent withdrawn while the disclosure form is open --------------------------------


@pytest.fixture
def consent_in_use(personas, world):
    """A consent, and a colleague at the lead organisation who is about to disclose on it."""
    colleague = make_user("kollegin", org(personas.partner), "partner_counsellor")
    world.lead.members.add(colleague)
    consent = police_consent(personas, world)
    return colleague, consent


def _disclose_on(consent, world) -> dict:
    return {
        "to_participant": world.police.pk,
        "entries": [world.risk.pk],
        "purpose": "Abstimmung",
        "legal_basis": "consent_special_categories",
        "consent": consent.pk,
    }


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "This consent was withdrawn by Partner Persona on "),
        ("de", "Diese Einwilligung hat Partner Persona am "),
    ],
)
def test_a_consent_withdrawn_while_the_form_is_open_says_by_whom_and_when(
    personas, world, consent_in_use, language, expected
):
    colleague, consent = consent_in_use
    colleague.language = language
    colleague.save(update_fields=["language"])
    client = personas.client(colleague)
    url = reverse("sharing:disclose", args=[world.case.pk])
    form = client.get(url).context["form"]
    assert consent.pk in [value for value, _label in form.fields["consent"].choices if value]

    services.consent_withdraw(actor=personas.partner, consent=consent)
    response = client.post(url, _disclose_on(consent, world))

    assert response.status_code == 422
    message = response.context["form"].errors["consent"][0]
    assert message.startswith(expected), message
    when = AuditEvent.objects.get(action="sharing.consent.withdraw").occurred_at
    with translation.override(language):
        local = when.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
        assert date_format(local, "SHORT_DATETIME_FORMAT") in message
    assert not Disclosure.objects.exists()
    again = client.get(url).context["form"].fields["consent"].choices
    assert [value for value, _label in again if value] == []  # no longer offered


def test_the_api_says_who_withdrew_the_consent_and_when(personas, world, consent_in_use):
    colleague, consent = consent_in_use
    services.consent_withdraw(actor=personas.partner, consent=consent)
    body = {**_disclose_on(consent, world), "entries": [world.risk.pk]}
    body["to_participant_id"] = body.pop("to_participant")
    body["consent_id"] = body.pop("consent")
    response = personas.client(colleague).post(
        f"/api/v1/sop/cases/{world.case.pk}/disclosures", body, content_type="application/json"
    )
    assert response.status_code == 422
    (message,) = response.json()["fields"]["consent"]
    assert message.startswith("This consent was withdrawn by Partner Persona on ")
