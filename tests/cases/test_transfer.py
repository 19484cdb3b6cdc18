"""Moving a case to another organisation (issue 17, flow 3): the person moves to another
state, or the lead has no capacity left. The lead proposes a transfer to a counselling
organisation that serves the person's new region, on the person's consent or a justified
legal basis; the receiving organisation sees the number, phase, region, reason and sender
— no case content, no seat — and accepts (naming the new lead worker) or declines; the
sender may withdraw. On acceptance the case keeps its number and history, the receiving
organisation leads it, the sender keeps a co-counselling seat for the handover period
(then it ends by itself), and open obligations follow the receiving side's procedure."""

from __future__ import annotations

import json
from datetime import date, timedelta
from html import unescape

import pytest
from django.apps import apps
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from casebridge.access.policy import Action, decide, seat_for, visible
from casebridge.accounts.models import Role
from casebridge.accounts.services import api_token_create
from casebridge.audit.models import AuditEvent
from casebridge.cases import services
from casebridge.cases.models import Case, Entry, Participant, Transfer
from casebridge.network.models import Organisation, Region
from casebridge.sharing import services as sharing_services
from casebridge.sharing.models import CaseEvent, Disclosure, Obligation, Protocol
from tests.builders import category, make_user, org, role, term, whole_case_page

pytestmark = pytest.mark.django_db

SECRET = "Vertrauliche Beratung"  # the counselling entry of the multi-agency case
REASON = "Die Familie ist nach Berlin-Neukölln gezogen, Kontakt zur Mutter besteht."
CONSENT = "Schriftlich am 3. Mai, Formular in der Papierakte."
NOT_COVERED = "does not counsel in"


# -- helpers -------------------------------------------------------------------------------


class Clock:
    """Moves ``django.utils.timezone.now`` forward without sleeping."""

    def __init__(self):
        self.offset = timedelta(0)

    def advance(self, **delta) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + clock.offset)
    return clock


@pytest.fixture
def mails(django_capture_on_commit_callbacks):
    """Mails go out once the transaction commits: ``with mails(): ...`` sends them."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def receiving(personas) -> Organisation:
    """Spreebogen in Berlin (covers Berlin and Brandenburg), where partner_other counsels."""
    return org(personas.partner_other)


def region(code: str) -> Region:
    return Region.objects.get(code=code)


def page_form(receiving, **overrides) -> dict:
    """The page's form ("transfer-" prefix): to Berlin, on the person's consent."""
    data = {
        "transfer-to_organisation": receiving.pk,
        "transfer-region": "DE-BE",
        "transfer-reason": REASON,
        "transfer-consent_note": CONSENT,
        "transfer-legal_basis": "",
        "transfer-justification": "",
        "transfer-handover_days": "14",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def api_body(receiving, **overrides) -> dict:
    body = {
        "to_organisation_id": receiving.pk,
        "region": "DE-BE",
        "reason": REASON,
        "consent_note": CONSENT,
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def propose(personas, world, receiving, **changes) -> Transfer:
    values = {
        "actor": personas.partner,
        "case": world.case,
        "to_organisation": receiving,
        "region": region("DE-BE"),
        "reason": REASON,
        "consent_note": CONSENT,
    }
    values.update(changes)
    return services.transfer_propose(**values)


def api_post(client, path: str, body=None):
    return client.post(
        path, json.dumps(body) if body is not None else "", content_type="application/json"
    )


def token_client(user) -> Client:
    secret = api_token_create(actor=user, name="script")[1]
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def records() -> dict:
    """Every row of every case and SOP table: a refusal changes none of them."""
    return {
        model._meta.label: sorted(map(repr, model.objects.values()))
        for app in ("cases", "sharing")
        for model in apps.get_app_config(app).get_models()
    }


def in_german(text: str) -> str:
    """The German of an interface text as the catalogue has it (English until translated)."""
    with translation.override("de"):
        return gettext(text)


def speaks_german(user) -> None:
    user.language = "de"
    user.save(update_fields=["language"])


# -- the whole flow ------------------------------------------------------------------------


def test_the_lead_proposes_and_the_receiving_partner_sees_only_what_it_needs(
    personas, world, receiving, mails
):
    mail.outbox.clear()
    lead = personas.client(personas.partner)
    with mails():
        response = lead.post(
            reverse("cases:transfer_propose", args=[world.case.pk]), page_form(receiving)
        )
    assert response.status_code == 302 and response["Location"].endswith("?section=closing")
    transfer = Transfer.objects.get()
    assert (transfer.status, transfer.from_organisation, transfer.to_organisation) == (
        "open",
        org(personas.partner),
        receiving,
    )
    assert (transfer.region.code, transfer.consent_note, transfer.handover_days) == (
        "DE-BE",
        CONSENT,
        14,
    )
    # the lead sees the open transfer with its grounds, and can withdraw it
    closing = lead.get(reverse("cases:case", args=[world.case.pk]), {"section": "closing"})
    body = closing.content.decode()
    assert 'id="open-transfer"' in body and CONSENT in body
    assert reverse("cases:transfer_withdraw", args=[transfer.pk]) in body
    # the event names ids and the case number, never the reason or the consent
    event = AuditEvent.objects.get(action="cases.transfer.propose")
    assert event.actor == personas.partner and event.details["case"] == world.case.number
    assert "Neukölln" not in json.dumps(event.details) and "Mai" not in json.dumps(event.details)
    # the receiving organisation's counsellor hears of it by mail: the case number only
    (message,) = mail.outbox
    assert message.to == [personas.partner_other.email]
    assert world.case.number in message.subject
    for secret in ("Neukölln", "Altona", "Ali", "Beispiel", "Hafenlicht", "Mai"):
        assert secret not in message.subject + message.body

    # The receiving partner: the task, the list and the decision page show the number,
    # phase, region, reason and sender — and nothing of the case.
    other = personas.client(personas.partner_other)
    tasks = other.get(reverse("sharing:tasks")).content.decode()
    assert reverse("cases:transfers") in tasks.split('id="transfers-waiting"')[1]
    home = other.get(reverse("home")).content.decode()
    assert "1 case transfer waits for your decision" in home
    listing = other.get(reverse("cases:transfers")).content.decode()
    detail = other.get(reverse("cases:transfer", args=[transfer.pk])).content.decode()
    for page in (listing, detail):
        assert world.case.number in page and "intake" in page  # number and phase
        assert "Berlin" in page and REASON in page and org(personas.partner).name in page
        for secret in (SECRET, "A. aus Altona", "Ali", "Beispiel", "Lagebild", CONSENT):
            assert secret not in page
    assert reverse("cases:transfer_accept", args=[transfer.pk]) in detail
    assert reverse("cases:transfer_withdraw", args=[transfer.pk]) not in detail
    # no seat until accepted: every door to the content is closed
    assert seat_for(personas.partner_other, world.case.pk) is None
    assert other.get(reverse("cases:case", args=[world.case.pk])).status_code == 404
    api = token_client(personas.partner_other)
    assert api.get(f"/api/v1/cases/{world.case.pk}").status_code == 404
    assert api.get(f"/api/v1/cases/{world.case.pk}/entries").status_code == 404
    assert api.get(f"/api/v1/cases/entries/{world.counselling.pk}").status_code == 404
    assert api_post(api, "/api/v1/cases/search", {"q": "Beratung"}).json() == []
    search = other.post(reverse("cases:list"), {"q": "Beratung"}).content.decode()
    assert SECRET not in search
    incoming = api.get("/api/v1/cases/transfers/incoming").json()
    assert [(t["id"], t["case_number"], t["phase"], t["region"]) for t in incoming] == [
        (transfer.pk, world.case.number, "intake", "DE-BE")
    ]
    assert incoming[0]["consent_note"] is None and incoming[0]["can_respond"] is True
    # reading the reasons of transfers is audited, as the receiving side's reads
    reads = set(
        AuditEvent.objects.filter(actor=personas.partner_other).values_list("action", flat=True)
    )
    assert {"cases.transfer.list", "cases.transfer.view"} <= reads


def test_accepting_hands_the_case_over_with_its_whole_history(personas, world, receiving, mails):
    transfer = propose(personas, world, receiving)
    consent = sharing_services.consent_record(
        actor=personas.partner,
        case=world.case,
        given_by="person",
        purpose="Fallkonferenz",
        categories=[category("case_coordination")],
        recipients=[world.police],
    )
    sharing_services.disclosure_request(
        actor=personas.partner,
        case=world.case,
        to_participant=world.police,
        entries=[world.coordination],
        purpose="Fallkonferenz",
        legal_basis=term("legal_basis", "consent_gdpr"),
        consent=consent,
    )
    history = {
        "entries": set(Entry.objects.filter(case=world.case).values_list("pk", flat=True)),
        "events": set(CaseEvent.objects.filter(case=world.case).values_list("pk", flat=True)),
        "disclosures": set(Disclosure.objects.values_list("pk", flat=True)),
        "obligations": set(Obligation.objects.values_list("pk", flat=True)),
    }
    mail.outbox.clear()
    api = token_client(personas.partner_other)
    with mails():
        response = api_post(
            api,
            f"/api/v1/cases/transfers/{transfer.pk}/accept",
            {"lead_worker_id": personas.partner_other.pk},
        )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "accepted"
    case = Case.objects.get(pk=world.case.pk)
    assert case.number == world.case.number and case.owner == receiving
    # the history stays: entries, events, disclosures, obligations (more events, not fewer)
    assert set(Entry.objects.filter(case=case).values_list("pk", flat=True)) == history["entries"]
    assert history["events"] < set(CaseEvent.objects.filter(case=case).values_list("pk", flat=True))
    assert set(Disclosure.objects.values_list("pk", flat=True)) == history["disclosures"]
    assert history["obligations"] <= set(Obligation.objects.values_list("pk", flat=True))
    # the receiving organisation leads, with the lead role's default scope
    new_lead = Participant.objects.active().get(case=case, organisation=receiving)
    assert new_lead.role == role("lead_counselling")
    assert new_lead.lead_worker == personas.partner_other
    assert list(new_lead.members.all()) == [personas.partner_other]
    expected, _write = services.default_scope(role("lead_counselling"), receiving)
    assert set(new_lead.read_categories.all()) == set(expected)
    # the sender's seat: co-counselling, its default scope, 14 days
    world.lead.refresh_from_db()
    assert world.lead.role == role("co_counselling")
    assert {t.code for t in world.lead.read_categories.all()} == {
        "case_coordination",
        "counselling",
    }
    until = world.lead.valid_until - timezone.now()
    assert timedelta(days=13, hours=23) < until <= timedelta(days=14)
    transfer.refresh_from_db()
    assert (transfer.from_participant, transfer.to_participant) == (world.lead, new_lead)
    # the new lead reads the case, everywhere
    other = personas.client(personas.partner_other)
    page = whole_case_page(other, case.pk)
    assert SECRET in page and "Ali" in page and "Lagebild" in page
    entries = api.get(f"/api/v1/cases/{case.pk}/entries").json()
    assert world.counselling.pk in {e["id"] for e in entries}
    assert api_post(api, "/api/v1/cases/search", {"q": "Beratung"}).json() != []
    assert api.get(f"/api/v1/cases/{case.pk}").json()["can_change"] is True
    # the sender no longer changes the case, but reads it during the handover
    sender = token_client(personas.partner)
    assert (
        api_post(sender, f"/api/v1/cases/{case.pk}/phase", {"phase": "assessment"}).status_code
        == 403
    )
    assert sender.get(f"/api/v1/cases/{case.pk}").status_code == 200
    # the sender hears the decision: the case number, nothing else
    (message,) = [m for m in mail.outbox if personas.partner.email in m.to]
    assert world.case.number in message.subject and "accepted" in message.subject
    assert "Spreebogen" not in message.body and "Neukölln" not in message.body
    # audited on both sides
    assert AuditEvent.objects.get(action="cases.transfer.propose").actor == personas.partner
    accepted = AuditEvent.objects.get(action="cases.transfer.accept")
    moved = AuditEvent.objects.get(action="cases.case.transfer")
    assert accepted.actor == moved.actor == personas.partner_other
    assert moved.object_id == str(case.pk) and moved.details["number"] == case.number
    for event in (accepted, moved):
        assert "Neukölln" not in json.dumps(event.details)
    # the lead's page of the case's access history shows the transfer
    history_page = other.get(reverse("cases:access_history", args=[case.pk])).content.decode()
    assert "cases.case.transfer" in history_page


def test_the_senders_seat_ends_by_itself_after_the_handover_period(
    personas, world, receiving, clock
):
    transfer = propose(personas, world, receiving, handover_days=3)
    services.transfer_accept(
        actor=personas.partner_other, transfer=transfer, lead_worker=personas.partner_other
    )
    clock.advance(days=2, hours=23)
    sender = personas.client(personas.partner)
    assert sender.get(reverse("cases:case", args=[world.case.pk])).status_code == 200
    assert SECRET in whole_case_page(sender, world.case.pk)  # its own organisation's entry
    clock.advance(hours=1, minutes=1)
    sender = personas.client(personas.partner)
    assert sender.get(reverse("cases:case", args=[world.case.pk])).status_code == 404
    api = token_client(personas.partner)
    assert api.get(f"/api/v1/cases/{world.case.pk}").status_code == 404
    assert api.get(f"/api/v1/cases/{world.case.pk}/entries").status_code == 404
    assert api_post(api, "/api/v1/cases/search", {"q": "Beratung"}).json() == []
    assert world.case.number not in sender.get(reverse("cases:list")).content.decode()
    # the receiving organisation leads on
    other = personas.client(personas.partner_other)
    assert SECRET in whole_case_page(other, world.case.pk)


def test_open_obligations_move_to_the_new_lead_worker(personas, world, receiving):
    (briefing,) = Obligation.objects.filter(case=world.case, status="open")
    assert briefing.responsible == personas.partner
    colleague = make_user("kollegin", receiving, Role.PARTNER_COUNSELLOR)
    transfer = propose(personas, world, receiving)
    services.transfer_accept(actor=personas.partner_other, transfer=transfer, lead_worker=colleague)
    briefing.refresh_from_db()
    assert (briefing.status, briefing.responsible) == ("open", colleague)
    # the receiving side's procedure reacts to the transfer: every other participant
    # (the police, the sender's handover seat) is to be briefed, by the new lead worker
    added = Obligation.objects.filter(case=world.case, status="open").exclude(pk=briefing.pk)
    assert {o.rule for o in added} == {"transfer-brief"}
    assert CaseEvent.objects.filter(case=world.case, code="case_transferred").count() == 1
    assert {o.recipient.organisation for o in added} == {
        org(personas.police),
        org(personas.partner),
    }
    assert {o.responsible for o in added} == {colleague}
    # the tasks of the new lead worker show them; the sender's show none of them
    tasks = personas.client(colleague).get(reverse("sharing:tasks")).content.decode()
    assert world.case.number in tasks.split('id="obligations"')[1].split("</ul>")[0]
    assert not Obligation.objects.filter(responsible=personas.partner, status="open").exists()


@pytest.fixture
def brandenburg(personas):
    """A state counselling centre in Brandenburg whose own procedure (agreed by the state
    centres only) has the counselling barrier but no rule to brief new participants."""
    centre = Organisation.objects.get(code="beratungsstelle-brandenburg")
    barrier = next(
        rule
        for rule in Protocol.objects.get(code="de-default").rules
        if rule["code"] == "counselling-barrier"
    )
    Protocol.objects.create(
        code="bb-land",  # before de-default: protocol_for() takes the first that fits
        version="2026.1",
        status=Protocol.Status.ACTIVE,
        effective_from=date(2026, 1, 1),
        parties=["state_counselling_centre"],
        labels={"de": "Landesverfahren Brandenburg", "en": "Brandenburg state procedure"},
        rules=[barrier],
    )
    return make_user("brandenburg", centre, Role.PARTNER_COUNSELLOR)


def test_an_obligation_the_receiving_procedure_does_not_know_is_cancelled(
    personas, world, brandenburg
):
    (briefing,) = Obligation.objects.filter(case=world.case, status="open")
    centre = org(brandenburg)
    transfer = propose(personas, world, centre, region=region("DE-BB"))
    services.transfer_accept(actor=brandenburg, transfer=transfer, lead_worker=brandenburg)
    briefing.refresh_from_db()
    assert briefing.status == "cancelled"
    assert "brief-new-participant" in briefing.note and "bb-land" in briefing.note
    # and the procedure of the receiving side creates none of it either
    assert not Obligation.objects.filter(case=world.case, status="open").exists()
    event = AuditEvent.objects.get(action="sharing.obligation.follow_lead")
    assert event.details["cancelled"] == [briefing.pk] and event.details["moved"] == []
    page = whole_case_page(personas.client(brandenburg), world.case.pk)
    assert "is not part of" in page  # the note, on the procedure section


def test_a_participating_receiver_gives_its_earlier_seat_up_for_the_lead(
    personas, world, receiving
):
    earlier = services.participant_add(
        actor=personas.partner,
        case=world.case,
        organisation=receiving,
        role=role("co_counselling"),
        members=[personas.partner_other],
    )
    transfer = propose(personas, world, receiving)
    services.transfer_accept(
        actor=personas.partner_other, transfer=transfer, lead_worker=personas.partner_other
    )
    earlier.refresh_from_db()
    assert not earlier.is_active
    (active,) = Participant.objects.active().filter(case=world.case, organisation=receiving)
    assert active.role == role("lead_counselling")
    assert decide(personas.partner_other, Action.CHANGE, world.case)


# -- decline, withdraw, and who may do what -----------------------------------------------


def test_the_receiving_partner_declines_with_a_reason_and_the_sender_still_leads(
    personas, world, receiving, mails
):
    transfer = propose(personas, world, receiving)
    other = personas.client(personas.partner_other)
    url = reverse("cases:transfer_decline", args=[transfer.pk])
    empty = other.post(url, {"decline-reason": ""})
    assert empty.status_code == 422 and "This field is required." in empty.content.decode()
    api = token_client(personas.partner_other)
    blank = api_post(api, f"/api/v1/cases/transfers/{transfer.pk}/decline", {"reason": "  "})
    assert blank.status_code == 422 and "reason" in blank.json()["fields"]
    transfer.refresh_from_db()
    assert transfer.status == "open"
    mail.outbox.clear()
    with mails():
        response = other.post(url, {"decline-reason": "Keine freien Plätze bis Herbst."})
    assert response.status_code == 302 and response["Location"] == reverse("cases:transfers")
    transfer.refresh_from_db()
    assert (transfer.status, transfer.decided_by) == ("declined", personas.partner_other)
    case = Case.objects.get(pk=world.case.pk)
    assert case.owner == org(personas.partner)
    assert decide(personas.partner, Action.CHANGE, case)
    assert Participant.objects.active().filter(case=case).count() == 2  # lead and police
    (message,) = mail.outbox
    assert message.to == [personas.partner.email] and "declined" in message.subject
    assert "Plätze" not in message.body
    closing = personas.client(personas.partner).get(
        reverse("cases:case", args=[case.pk]), {"section": "closing"}
    )
    assert "Keine freien Plätze bis Herbst." in closing.content.decode()
    event = AuditEvent.objects.get(action="cases.transfer.decline")
    assert event.actor == personas.partner_other and "Plätze" not in json.dumps(event.details)
    # a declined transfer is no longer offered, and a new one may be proposed
    assert api.get("/api/v1/cases/transfers/incoming").json() == []
    propose(personas, world, receiving)


def test_the_lead_withdraws_and_the_offer_is_gone(personas, world, receiving, mails):
    transfer = propose(personas, world, receiving)
    mail.outbox.clear()
    with mails():
        response = personas.client(personas.partner).post(
            reverse("cases:transfer_withdraw", args=[transfer.pk])
        )
    assert response.status_code == 302 and response["Location"].endswith("?section=closing")
    transfer.refresh_from_db()
    assert (transfer.status, transfer.decided_by) == ("withdrawn", personas.partner)
    (message,) = mail.outbox
    assert message.to == [personas.partner_other.email] and "withdrawn" in message.subject
    other = personas.client(personas.partner_other)
    assert world.case.number not in other.get(reverse("cases:transfers")).content.decode()
    before = records()
    late = other.post(
        reverse("cases:transfer_accept", args=[transfer.pk]),
        {"accept-lead_worker": personas.partner_other.pk},
    )
    assert late.status_code == 422 and "This transfer is no longer open." in late.content.decode()
    assert records() == before
    event = AuditEvent.objects.get(action="cases.transfer.withdraw")
    assert event.actor == personas.partner


def test_each_side_does_only_its_own_part(personas, world, receiving):
    transfer = propose(personas, world, receiving)
    base = f"/api/v1/cases/transfers/{transfer.pk}"
    before = records()
    sender, other = token_client(personas.partner), token_client(personas.partner_other)
    accept = {"lead_worker_id": personas.partner.pk}
    assert api_post(sender, f"{base}/accept", accept).status_code == 403
    assert api_post(sender, f"{base}/decline", {"reason": "x"}).status_code == 403
    assert api_post(other, f"{base}/withdraw").status_code == 403
    # pages hide a denial as 404
    page = personas.client(personas.partner)
    assert (
        page.post(
            reverse("cases:transfer_accept", args=[transfer.pk]),
            {"accept-lead_worker": personas.partner_other.pk},
        ).status_code
        == 404
    )
    for persona in ("police", "hotline", "coordinator", "dpo", "outsider", "prison_expired"):
        client = token_client(getattr(personas, persona))
        assert client.get(base).status_code == 404, persona
        assert api_post(client, f"{base}/accept", accept).status_code == 404, persona
        assert client.get("/api/v1/cases/transfers/incoming").json() == []
    # the police take part in the case but do not lead it: no proposal
    police = token_client(personas.police)
    proposal = api_post(police, f"/api/v1/cases/{world.case.pk}/transfers", api_body(receiving))
    assert proposal.status_code == 403
    assert records() == before
    denied = AuditEvent.objects.filter(outcome="denied", object_type="cases.transfer")
    assert {e.actor for e in denied.filter(action="cases.transfer.accept")} == {personas.partner}
    assert denied.filter(action="cases.transfer.withdraw", actor=personas.partner_other).exists()


def test_the_new_lead_worker_comes_from_the_receiving_organisation(personas, world, receiving):
    transfer = propose(personas, world, receiving)
    before = records()
    api = token_client(personas.partner_other)
    url = f"/api/v1/cases/transfers/{transfer.pk}/accept"
    for person in (personas.partner, personas.police, personas.outsider):
        response = api_post(api, url, {"lead_worker_id": person.pk})
        assert response.status_code == 422, person
        assert "lead_worker" in response.json()["fields"]
    assert api_post(api, url, {"lead_worker_id": 10**9}).json()["fields"] == {
        "lead_worker_id": ["Unknown person."]
    }
    page = personas.client(personas.partner_other).post(
        reverse("cases:transfer_accept", args=[transfer.pk]),
        {"accept-lead_worker": personas.partner.pk},
    )
    assert page.status_code == 422 and "Select a valid choice" in page.content.decode()
    assert records() == before


def test_closing_the_case_withdraws_an_open_transfer(personas, world, receiving):
    transfer = propose(personas, world, receiving)
    services.case_close(
        actor=personas.partner, case=world.case, closing_reason=term("case_closing_reason", "other")
    )
    transfer.refresh_from_db()
    assert transfer.status == "withdrawn"


# -- bad input: a clear message on its field, nothing changed ------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("transfer-region", "DE-BY", NOT_COVERED),  # Spreebogen: Berlin and Brandenburg
        ("transfer-region", "DE-HH", NOT_COVERED),
        ("transfer-region", "DE", "Select a valid choice"),  # the country is no residence
        ("transfer-to_organisation", "OWN", "Select a valid choice"),  # not offered at all
        ("transfer-handover_days", "0", "Choose a handover period between 1 and 30 days."),
        ("transfer-handover_days", "31", "Choose a handover period between 1 and 30 days."),
        ("transfer-handover_days", "", "This field is required."),
        ("transfer-reason", "", "This field is required."),
        ("transfer-consent_note", "", "Say how the person consented to the transfer"),
        ("transfer-legal_basis", "danger_prevention_bdsg", "either how the person consented"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(
    personas, world, receiving, field, value, message
):
    before = records()
    if value == "OWN":
        value = org(personas.partner).pk
    response = personas.client(personas.partner).post(
        reverse("cases:transfer_propose", args=[world.case.pk]),
        page_form(receiving, **{field: value}),
    )
    assert response.status_code == 422
    body = unescape(response.content.decode())
    assert 'id="form-errors"' in body and message in body
    assert 'aria-current="page">Phase and closing' in body  # the form's own section
    assert records() == before
    assert not mail.outbox


def test_a_legal_basis_needs_a_written_justification_and_no_consent_basis(
    personas, world, receiving
):
    client = personas.client(personas.partner)
    url = reverse("cases:transfer_propose", args=[world.case.pk])
    before = records()
    for basis, message in (
        ("danger_prevention_bdsg", "Without consent, write the justification"),
        ("consent_gdpr", "A transfer on consent needs the person's consent"),
    ):
        data = page_form(receiving, **{"transfer-consent_note": "", "transfer-legal_basis": basis})
        response = client.post(url, data)
        assert response.status_code == 422 and message in unescape(response.content.decode())
    assert records() == before
    data = page_form(
        receiving,
        **{
            "transfer-consent_note": "",
            "transfer-legal_basis": "danger_prevention_bdsg",
            "transfer-justification": "Gefahrenabwehr: die Beratung muss am Wohnort weitergehen.",
        },
    )
    assert client.post(url, data).status_code == 302
    transfer = Transfer.objects.get()
    assert (transfer.basis, transfer.legal_basis.code, transfer.consent_note) == (
        "legal_basis",
        "danger_prevention_bdsg",
        "",
    )


def test_one_past_each_limit_is_refused_in_the_api(personas, world, receiving):
    client = token_client(personas.partner)
    url = f"/api/v1/cases/{world.case.pk}/transfers"
    for days, ok in ((0, False), (1, True), (30, True), (31, False)):
        before = records()
        response = api_post(client, url, api_body(receiving, handover_days=days))
        if ok:
            assert response.status_code == 201, response.content
            assert response.json()["handover_days"] == days
            services.transfer_withdraw(
                actor=personas.partner, transfer=Transfer.objects.get(status="open")
            )
        else:
            assert response.status_code == 422
            assert response.json()["fields"] == {
                "handover_days": ["Choose a handover period between 1 and 30 days."]
            }
            assert records() == before


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"region": "DE-BY"}, "to_organisation", "does not counsel in Bavaria"),
        ({"region": "DE"}, "region", "Choose the federal state or district"),
        ({"region": "XX"}, "region", "Unknown region."),
        ({"to_organisation_id": "OWN"}, "to_organisation", "leads this case already"),
        ({"to_organisation_id": "HOTLINE"}, "to_organisation", "active counselling organisation"),
        ({"to_organisation_id": "POLICE"}, "to_organisation", "active counselling organisation"),
        ({"to_organisation_id": 10**9}, "to_organisation_id", "Unknown organisation."),
        ({"reason": " "}, "reason", "Say why the case moves"),
        ({"consent_note": ""}, "consent_note", "Say how the person consented"),
        ({"legal_basis": "no_such_basis"}, "legal_basis", "Unknown: no_such_basis"),
        ({"handover_days": "14"}, "handover_days", "Input should be a valid integer"),
        ({"reason": "x" * 501}, "reason", "at most 500 characters"),
    ],
)
def test_bad_api_input_names_the_field_and_changes_nothing(
    personas, world, receiving, change, field, message
):
    markers = {
        "OWN": org(personas.partner).pk,
        "HOTLINE": org(personas.hotline).pk,
        "POLICE": org(personas.police).pk,
    }
    change = {k: markers.get(v, v) if isinstance(v, str) else v for k, v in change.items()}
    before = records()
    response = api_post(
        token_client(personas.partner),
        f"/api/v1/cases/{world.case.pk}/transfers",
        api_body(receiving, **change),
    )
    assert response.status_code == 422, response.content
    fields = response.json()["fields"]
    assert field in fields and message in " ".join(fields[field]), fields
    assert records() == before


def test_a_closed_case_and_a_second_open_transfer_are_refused(personas, world, receiving):
    client = token_client(personas.partner)
    url = f"/api/v1/cases/{world.case.pk}/transfers"
    assert api_post(client, url, api_body(receiving)).status_code == 201
    before = records()
    again = api_post(client, url, api_body(receiving))
    assert again.status_code == 422
    assert "already has an open transfer" in again.json()["fields"]["case"][0]
    page = personas.client(personas.partner).post(
        reverse("cases:transfer_propose", args=[world.case.pk]), page_form(receiving)
    )
    assert page.status_code == 422 and "already has an open transfer" in page.content.decode()
    assert records() == before
    services.transfer_withdraw(actor=personas.partner, transfer=Transfer.objects.get())
    services.case_close(
        actor=personas.partner, case=world.case, closing_reason=term("case_closing_reason", "other")
    )
    before = records()
    closed = api_post(client, url, api_body(receiving))
    assert closed.status_code == 422
    assert closed.json()["fields"]["case"] == ["A closed case cannot be transferred."]
    assert records() == before


# -- in German -----------------------------------------------------------------------------


def test_the_flow_speaks_the_users_language(personas, world, receiving, mails):
    speaks_german(personas.partner)
    speaks_german(personas.partner_other)
    lead = personas.client(personas.partner)
    url = reverse("cases:transfer_propose", args=[world.case.pk])
    refused = lead.post(url, page_form(receiving, **{"transfer-region": "DE-BY"}))
    body = refused.content.decode()
    assert refused.status_code == 422 and '<html lang="de">' in body
    assert "Es wurde nichts gespeichert. Bitte korrigieren Sie:" in body
    with translation.override("de"):
        expected = gettext(
            "%(organisation)s does not counsel in %(region)s. Choose an organisation that "
            "serves the region where the person now lives."
        ) % {"organisation": receiving.name, "region": "Bayern"}
    assert expected in body  # the region in German too
    api = token_client(personas.partner)
    days = api_post(
        api, f"/api/v1/cases/{world.case.pk}/transfers", api_body(receiving, handover_days=31)
    )
    assert days.json()["fields"]["handover_days"] == [
        in_german("Choose a handover period between %(first)s and %(last)s days.")
        % {"first": 1, "last": 30}
    ]
    assert (
        days.json()["detail"] == in_german("The input is not valid.") != "The input is not valid."
    )
    mail.outbox.clear()
    with mails():
        assert lead.post(url, page_form(receiving)).status_code == 302
    (offer,) = mail.outbox
    assert offer.subject == in_german(
        "casebridge: %(number)s – a case transfer waits for your decision"
    ) % {"number": world.case.number}
    transfer = Transfer.objects.get()
    other = personas.client(personas.partner_other)
    detail = other.get(reverse("cases:transfer", args=[transfer.pk])).content.decode()
    assert '<html lang="de">' in detail and in_german("Accept the case") in detail
    with mails():
        accepted = other.post(
            reverse("cases:transfer_accept", args=[transfer.pk]),
            {"accept-lead_worker": personas.partner_other.pk},
            follow=True,
        )
    assert (
        in_german("Your organisation now leads case %(number)s.") % {"number": world.case.number}
        in accepted.content.decode()
    )
    assert SECRET in accepted.content.decode() or SECRET in whole_case_page(other, world.case.pk)
    decision = next(m for m in mail.outbox if personas.partner.email in m.to)
    assert decision.subject == in_german("casebridge: %(number)s – your transfer was accepted") % {
        "number": world.case.number
    }


# -- the policy's two evaluators agree on transfers ----------------------------------------


def test_decide_and_visible_agree_on_transfers(personas, world, receiving, brandenburg):
    open_one = propose(personas, world, receiving)
    other_case = services.case_open(actor=personas.partner_other, owner=receiving, pseudonym="B.")
    declined = services.transfer_propose(
        actor=personas.partner_other,
        case=other_case,
        to_organisation=org(brandenburg),
        region=region("DE-BB"),
        reason="Umzug",
        consent_note="mündlich",
    )
    services.transfer_decline(actor=brandenburg, transfer=declined, reason="voll")
    transfers = [open_one, declined]
    people = [*(getattr(personas, name) for name in vars(personas)), brandenburg]
    for person in people:
        for action in (Action.VIEW, Action.CHANGE, Action.RESPOND):
            allowed = {t.pk for t in transfers if decide(person, action, t)}
            listed = set(
                visible(person, Transfer.objects.all(), action).values_list("pk", flat=True)
            )
            assert allowed == listed, (person.username, action)
    assert decide(personas.partner_other, Action.RESPOND, open_one)
    assert decide(personas.partner_other, Action.CHANGE, declined)  # it leads that case
    assert not decide(personas.police, Action.VIEW, open_one)
