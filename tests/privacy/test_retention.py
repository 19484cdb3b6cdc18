"""Retention: each rule just before and just after its limit, dry run against real run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from casebridge.audit.models import AuditEvent
from casebridge.audit.services import audit_verify
from casebridge.cases import services as case_services
from casebridge.cases.models import (
    Case,
    ConferenceItem,
    Entry,
    Goal,
    RelatedPerson,
    private_storage,
)
from casebridge.cooperation_models.models import CooperationModel, Term
from casebridge.crypto.keys import name_index
from casebridge.hotline.models import Contact
from casebridge.privacy.retention import months_before, retention_due, retention_run, years_before
from casebridge.sharing.models import Consent, Disclosure
from tests.builders import org
from tests.privacy.retention_data import (
    DAY,
    NOW,
    age_contact,
    close_case,
    consent_ended,
    counts,
    declined_referral,
    snapshot,
    with_related_person_and_document,
)


@pytest.fixture(autouse=True)
def _prune(prune_calls):
    return prune_calls


def test_months_before_keeps_the_day_or_takes_the_last_one(db):
    moment = NOW.replace(year=2026, month=3, day=31)
    assert months_before(moment, 1).date().isoformat() == "2026-02-28"
    assert months_before(moment, 12).date().isoformat() == "2025-03-31"
    assert years_before(moment, 3).date().isoformat() == "2023-03-31"


def test_anonymous_contact_loses_text_after_twelve_months_and_keeps_statistics(make_contact):
    limit = months_before(NOW, 12)
    old = make_contact(advice="Beratung zu Anlaufstellen", next_steps="Rückruf")
    young = make_contact()
    age_contact(old, limit - DAY)
    age_contact(young, limit + DAY)

    results = retention_run(now=NOW, dry_run=False)

    assert counts(results)[("contacts.anonymous_text", "contact")] == 1
    old.refresh_from_db()
    young.refresh_from_db()
    assert (old.summary, old.advice, old.next_steps) == ("", "", "")
    assert old.anonymised_at == NOW
    assert old.caller_category.code == "parents_relatives"
    assert old.contact_category.code == "clarification_needed"
    assert old.caller_region is not None and old.caller_postcode == "20095"
    assert young.summary and young.anonymised_at is None


def test_identified_contact_without_referral_loses_identity_after_six_months(make_contact):
    limit = months_before(NOW, 6)
    identity = {"anonymous": False, "caller_name": "Erika Muster", "caller_phone": "040 000001"}
    old, young = make_contact(**identity), make_contact(**identity)
    age_contact(old, limit - DAY)
    age_contact(young, limit + DAY)
    assert old.caller_index == name_index("Muster Erika")

    results = retention_run(now=NOW, dry_run=False)

    assert counts(results)[("contacts.identified", "contact")] == 1
    old.refresh_from_db()
    young.refresh_from_db()
    assert (old.caller_name, old.caller_phone, old.caller_index, old.summary) == ("", "", "", "")
    assert old.caller_postcode == "" and old.caller_category is not None
    assert young.caller_name == "Erika Muster"


def test_closed_referral_loses_messages_and_its_contact_identity(make_contact, personas):
    limit = months_before(NOW, 12)
    old_contact, old = declined_referral(make_contact, personas, limit - DAY)
    young_contact, young = declined_referral(make_contact, personas, limit + DAY)

    results = retention_run(now=NOW, dry_run=False)

    assert counts(results)[("referrals.closed", "referral")] == 1
    assert counts(results)[("referrals.closed", "contact")] == 1
    old.refresh_from_db()
    assert (old.message, old.consent_note, old.decline_reason) == ("", "", "")
    assert old.status == "declined" and old.partner_id
    assert not old.events.exclude(note="").exists()
    old_contact.refresh_from_db()
    assert old_contact.caller_name == "" and old_contact.summary == ""
    young.refresh_from_db()
    assert young.decline_reason == "Keine Kapazität"
    assert Contact.objects.get(pk=young_contact.pk).caller_name == "Erika Muster"


def test_an_open_referral_keeps_its_contact(make_contact, personas):
    contact = make_contact(
        referral_to=org(personas.partner),
        mode="consent",
        anonymous=False,
        caller_name="Erika Muster",
        caller_phone="040 000001",
    )
    age_contact(contact, NOW - timedelta(days=3000))
    retention_run(now=NOW, dry_run=False)
    contact.refresh_from_db()
    assert contact.caller_name == "Erika Muster"
    assert contact.referrals.get().message


def test_closed_case_is_anonymised_after_three_years_and_keeps_statistics(world, personas):
    stored = with_related_person_and_document(world, personas)
    close_case(world, personas, years_before(NOW, 3) - DAY)
    before = (
        Case.objects.filter(pk=world.case.pk)
        .values("status", "phase", "closing_reason", "owner", "opened_at", "closed_at")
        .get()
    )

    results = retention_run(now=NOW, dry_run=False)

    found = counts(results)
    assert found[("cases.closed", "case")] == 1
    assert found[("cases.closed", "related person")] == 1
    assert found[("cases.closed", "document")] == 1
    assert found[("entries.counselling", "entry")] == 1
    assert found[("entries.counselling", "conference item")] == 1
    assert found[("entries.security", "entry")] == 1
    case = Case.objects.get(pk=world.case.pk)
    assert (case.first_name, case.last_name, case.date_of_birth, case.identity_index) == (
        "",
        "",
        "",
        "",
    )
    assert case.anonymised_at == NOW
    assert Case.objects.filter(pk=case.pk).values(*before).get() == before
    person = RelatedPerson.objects.get(case=case)
    assert (person.name, person.phone, person.name_index) == ("", "", "")
    assert person.relation_id  # the relation stays, for statistics
    assert not private_storage().exists(stored)
    assert Entry.objects.filter(case=case).count() == 4  # rows stay, text goes
    assert not Entry.objects.filter(case=case).exclude(text="", title="").exists()
    assert Entry.objects.get(pk=world.risk.pk).likelihood == "likely"
    assert not ConferenceItem.objects.filter(conference__case=case).exclude(text="").exists()


def test_closed_case_one_day_short_of_three_years_is_kept(world, personas):
    with_related_person_and_document(world, personas)
    close_case(world, personas, years_before(NOW, 3) + DAY)
    results = retention_run(now=NOW, dry_run=False)
    assert sum(r.count for r in results if r.rule.startswith(("cases.", "entries."))) == 0
    case = Case.objects.get(pk=world.case.pk)
    assert case.first_name == "Ali" and case.anonymised_at is None
    assert RelatedPerson.objects.get(case=case).name == "Maria Beispiel"


def test_each_category_follows_its_own_period(world, personas):
    model = CooperationModel.objects.get()
    model.settings["retention"]["category_years"] = {"counselling": 1}
    model.save(update_fields=["settings"])
    close_case(world, personas, years_before(NOW, 1) - DAY)

    results = retention_run(now=NOW, dry_run=False)

    assert counts(results)[("entries.counselling", "entry")] == 1
    assert counts(results)[("cases.closed", "case")] == 0
    assert Entry.objects.get(pk=world.counselling.pk).text == ""
    assert Entry.objects.get(pk=world.security.pk).text  # follows closed_case_years (3)
    assert Case.objects.get(pk=world.case.pk).first_name == "Ali"


def test_goals_follow_the_coordination_category(world, personas):
    case_services.goal_add(
        actor=personas.partner, case=world.case, horizon="interim", title="Schule beenden"
    )
    close_case(world, personas, years_before(NOW, 3) - DAY)
    results = retention_run(now=NOW, dry_run=False)
    assert counts(results)[("entries.case_coordination", "goal")] == 1
    assert Goal.objects.get(case=world.case).title == ""


def test_ended_consents_and_old_disclosures_lose_their_text(world, personas):
    limit = years_before(NOW, 3)
    old = consent_ended(world, personas, withdrawn_at=limit - DAY)
    young = consent_ended(world, personas, withdrawn_at=limit + DAY)
    running = consent_ended(world, personas)
    disclosure = Disclosure.objects.create(
        case=world.case,
        from_participant=world.lead,
        to_participant=world.police,
        excerpt="Auszug",
        purpose="Gefahrenabwehr",
        justification="Begründung",
        legal_basis=Term.objects.of("legal_basis").first(),
        requested_by=personas.partner,
        requested_at=years_before(NOW, 5) - DAY,
    )

    results = retention_run(now=NOW, dry_run=False)

    assert counts(results)[("consents.ended", "consent")] == 1
    assert counts(results)[("disclosures.decided", "disclosure")] == 1
    assert Consent.objects.get(pk=old.pk).purpose == ""
    assert Consent.objects.get(pk=young.pk).purpose and Consent.objects.get(pk=running.pk).purpose
    disclosure.refresh_from_db()
    assert (disclosure.excerpt, disclosure.purpose, disclosure.justification) == ("", "", "")
    assert disclosure.legal_basis_id and disclosure.to_participant_id


def test_audit_rule_asks_the_audit_app_to_prune_before_ten_years(db, prune_calls):
    retention_run(now=NOW, dry_run=True)
    retention_run(now=NOW, dry_run=False)
    assert [call["dry_run"] for call in prune_calls] == [True, False]
    assert {call["before"] for call in prune_calls} == {years_before(NOW, 10)}


# -- dry run against real run -------------------------------------------------------------


def test_dry_run_reports_exactly_what_the_run_then_does_and_changes_nothing(everything_due):
    before = snapshot()
    events = AuditEvent.objects.count()

    dry = retention_run(now=NOW, dry_run=True)

    assert snapshot() == before
    assert AuditEvent.objects.count() == events
    real = retention_run(now=NOW, dry_run=False)
    assert counts(dry) == counts(real)
    assert sum(r.count for r in real if r.rule != "audit.events") >= 12
    assert snapshot() != before


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_a_second_run_does_nothing(everything_due):
    retention_run(now=NOW, dry_run=False)
    before = snapshot()
    events = _last_event_id()

    again = retention_run(now=NOW, dry_run=False)

    assert all(r.count == 0 for r in again if r.rule != "audit.events")
    assert snapshot() == before
    # only the record that retention ran; no rule event
    assert list(
        AuditEvent.objects.filter(id__gt=events).order_by("id").values_list("action", flat=True)
    ) == ["retention.run"]


def test_each_applied_rule_writes_one_audit_event_with_counts_only(everything_due):
    start = _last_event_id()
    retention_run(now=NOW, dry_run=False)
    events = list(AuditEvent.objects.filter(id__gt=start).order_by("id"))
    actions = [event.action for event in events]
    assert actions.count("retention.contacts.anonymous_text") == 1
    assert actions.count("retention.cases.closed") == 1
    assert actions[-1] == "retention.run"
    for event in events:
        assert set(event.details) <= {"as_of", "before", "counts", "records"}
        assert "Muster" not in str(event.details)
    verified = audit_verify()
    assert verified.ok and verified.checked > 0, verified.broken


# -- the command and the worker -----------------------------------------------------------


def test_command_prints_a_table_of_what_it_would_do(everything_due, capsys):
    call_command("retention", "run", "--dry-run")
    out = capsys.readouterr().out
    assert "would anonymise" in out
    assert "contacts.anonymous_text" in out and "cases.closed" in out
    assert "nothing was changed" in out
    assert Case.objects.get(anonymised_at__isnull=True)


def test_command_runs_as_of_a_given_day(make_contact, capsys):
    contact = make_contact()
    call_command("retention", "run", "--now", (NOW + timedelta(days=400)).date().isoformat())
    out = capsys.readouterr().out
    assert "done:" in out
    assert Contact.objects.get(pk=contact.pk).summary == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--now", "31.12.2026"], "--now: expected a date YYYY-MM-DD"),
        (["run", "--now", "2026-13-01"], "--now: expected a date YYYY-MM-DD"),
        (["forget"], "invalid choice: 'forget'"),
    ],
)
def test_command_names_the_bad_option(db, argv, message):
    with pytest.raises(CommandError, match=message):
        call_command("retention", *argv)


def test_command_refuses_without_retention_table(db):
    CooperationModel.objects.update(settings={"languages": ["de", "en"]})
    with pytest.raises(CommandError, match=r"no \[retention\] table"):
        call_command("retention", "run")


def test_worker_runs_retention_once_a_day(db):
    assert retention_due(now=NOW)
    retention_run(dry_run=True)
    assert retention_due()  # a dry run does not count
    retention_run(dry_run=False)
    assert not retention_due()
    assert retention_due(now=timezone.now() + timedelta(days=1))


def test_worker_round_applies_retention_once(make_contact):
    contact = make_contact()
    age_contact(contact, months_before(timezone.now(), 13))
    call_command("worker", "--once")
    assert Contact.objects.get(pk=contact.pk).summary == ""
    call_command("worker", "--once")
    assert AuditEvent.objects.filter(action="retention.run").count() == 1


def test_old_requests_for_information_lose_their_text_with_the_disclosures(world, personas):
    from casebridge.sharing.models import InformationRequest

    limit = years_before(NOW, 5)
    request = InformationRequest.objects.create(
        case=world.case,
        from_participant=world.police,
        to_participant=world.lead,
        question="Hat er die Ausreise erwähnt?",
        purpose="Gefahrenabwehr",
        legal_basis=Term.objects.of("legal_basis").first(),
        due_at=limit - DAY,
        requested_by=personas.police,
        requested_at=limit - 2 * DAY,
        status="refused",
        refusal="Nichts dazu gesagt.",
        decided_at=limit - DAY,
    )
    young = InformationRequest.objects.create(
        case=world.case,
        from_participant=world.police,
        to_participant=world.lead,
        question="Und jetzt?",
        purpose="Gefahrenabwehr",
        legal_basis=Term.objects.of("legal_basis").first(),
        due_at=NOW,
        requested_by=personas.police,
        requested_at=limit + DAY,
    )
    dry = retention_run(now=NOW, dry_run=True)
    assert counts(dry)[("disclosures.decided", "request for information")] == 1
    results = retention_run(now=NOW, dry_run=False)
    assert counts(results)[("disclosures.decided", "request for information")] == 1
    request.refresh_from_db()
    assert (request.question, request.refusal, request.purpose) == ("", "", "")
    assert request.status == "refused" and InformationRequest.objects.get(pk=young.pk).question


def test_old_hotline_disclosures_lose_their_text_with_the_disclosures(personas):
    from casebridge.sharing.models import ContactDisclosure
    from tests.builders import make_contact

    limit = years_before(NOW, 5)
    old, young = (
        ContactDisclosure.objects.get(
            contact=make_contact(
                personas, caller_postcode=code, first_analysis={"danger_to_self": "yes"}
            )
        )
        for code in ("20095", "20097")
    )
    ContactDisclosure.objects.filter(pk=old.pk).update(
        excerpt="Suizidankündigung.",
        identity="Max",
        purpose="Schutz",
        status="sent",
        decided_at=limit - DAY,
    )
    ContactDisclosure.objects.filter(pk=young.pk).update(
        excerpt="Suizidankündigung.", status="sent", decided_at=limit + DAY
    )
    dry = retention_run(now=NOW, dry_run=True)
    assert counts(dry)[("disclosures.decided", "hotline disclosure")] == 1
    results = retention_run(now=NOW, dry_run=False)
    assert counts(results)[("disclosures.decided", "hotline disclosure")] == 1
    old.refresh_from_db()
    assert (old.excerpt, old.identity, old.purpose) == ("", "", "")
    assert old.status == "sent" and ContactDisclosure.objects.get(pk=young.pk).excerpt
