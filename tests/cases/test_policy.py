"""Need-to-know on cases: each participant sees what its scope allows, nothing else."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from casebridge.access.policy import Action, decide, visible
from casebridge.audit.models import AuditEvent
from casebridge.cases import selectors, services
from casebridge.cases.models import ConferenceItem, Entry
from tests.builders import category, org, role

pytestmark = pytest.mark.django_db


def readable(user, case) -> set[str]:
    return {e.title for e in visible(user, Entry.objects.filter(case=case))}


def test_lead_reads_everything(personas, world):
    assert readable(personas.partner, world.case) == {
        "Gespräch mit A.",
        "Lagebild",
        "Fallkonferenz geplant",
        "Einschätzung",
    }


def test_police_liaison_cannot_read_counselling(personas, world):
    decision = decide(personas.police, Action.VIEW, world.counselling)
    assert not decision
    assert decision.reason == (
        f"denied: the police_liaison scope in case {world.case.number} excludes counselling"
    )
    assert readable(personas.police, world.case) == {"Lagebild", "Fallkonferenz geplant"}


def test_police_cannot_read_identity_or_the_risk_judgement_by_scope(personas, world):
    assert not decide(personas.police, Action.VIEW_IDENTITY, world.case)
    assert not decide(personas.police, Action.VIEW, world.risk)


def test_counselling_never_reaches_security_by_scope_even_if_asked(personas, world):
    with pytest.raises(ValidationError) as caught:
        services.participant_scope(
            actor=personas.partner,
            participant=world.police,
            read=[category("case_coordination"), category("counselling")],
            write=[],
            reason="bitte",
        )
    assert "counselling reaches" in caught.value.message_dict["read"][0]
    assert not decide(personas.police, Action.VIEW, world.counselling)


def test_scope_change_needs_a_reason_and_is_recorded(personas, world):
    with pytest.raises(ValidationError) as caught:
        services.participant_scope(
            actor=personas.partner,
            participant=world.police,
            read=[category("case_coordination")],
            write=[],
            reason=" ",
        )
    assert "reason" in caught.value.message_dict
    services.participant_scope(
        actor=personas.partner,
        participant=world.police,
        read=[category("case_coordination"), category("risk_assessment")],
        write=[category("case_coordination")],
        reason="Gefährdung wahrscheinlich",
    )
    change = world.police.scope_changes.last()
    assert change.reason == "Gefährdung wahrscheinlich"
    assert change.read == ["case_coordination", "risk_assessment"]
    assert decide(personas.police, Action.VIEW, world.risk)


def test_expired_participation_ends_by_itself(personas, world):
    assert not decide(personas.prison_expired, Action.VIEW, world.case)
    assert readable(personas.prison_expired, world.case) == set()


def test_outsiders_see_nothing_and_the_denial_is_audited(personas, world):
    with pytest.raises(Exception) as caught:
        selectors.access_case(personas.partner_other, world.case.pk)
    assert caught.type.__name__ == "Http404"
    denied = AuditEvent.objects.filter(outcome="denied", object_id=str(world.case.pk)).latest("id")
    assert denied.details["reason"].startswith("denied: not a named person")
    assert "Beispiel" not in str(denied.details)


def test_only_the_lead_changes_the_case(personas, world):
    with pytest.raises(PermissionDenied):
        services.participant_add(
            actor=personas.police,
            case=world.case,
            organisation=org(personas.partner_other),
            role=role("co_counselling"),
            members=[personas.partner_other],
        )
    with pytest.raises(PermissionDenied):
        services.case_update(actor=personas.police, case=world.case, phase="assessment")


def test_police_cannot_write_counselling(personas, world):
    with pytest.raises(PermissionDenied):
        services.entry_create(
            actor=personas.police,
            case=world.case,
            data=services.EntryData(kind="note", category=category("counselling"), title="x"),
        )


def test_conference_minutes_follow_the_scope(personas, world):
    items = visible(personas.police, ConferenceItem.objects.filter(conference=world.conference))
    assert [i.text for i in items] == ["Nächste Konferenz in 6 Wochen"]
    conferences = selectors.case_conferences(personas.police, world.case)
    assert [i.text for i in conferences[0].visible_items] == ["Nächste Konferenz in 6 Wochen"]


def test_export_and_search_hold_only_what_the_reader_may_read(personas, world):
    rows = selectors.export_rows(personas.police, world.case)
    assert {r["title"] for r in rows} == {"Lagebild", "Fallkonferenz geplant"}
    assert selectors.search_entries(personas.police, "Vertrauliche") == []
    assert [e.title for e in selectors.search_entries(personas.partner, "Vertrauliche")] == [
        "Gespräch mit A."
    ]


def test_handover_moves_access_and_keeps_history(personas, world):
    from tests.builders import make_user

    colleague = make_user("colleague", org(personas.partner), "partner_counsellor")
    services.handover(
        actor=personas.partner,
        participant=world.lead,
        to_worker=colleague,
        note="Bitte Termin am Montag bestätigen.",
    )
    assert not decide(personas.partner, Action.VIEW, world.case)
    assert decide(colleague, Action.VIEW, world.case)
    assert decide(colleague, Action.CHANGE, world.case)
    handovers = selectors.case_handovers(colleague, world.case)
    assert [(h.from_worker, h.to_worker) for h in handovers] == [(personas.partner, colleague)]


def test_coordinator_sees_cases_without_lead_but_no_content(personas, world):
    personas.partner.is_active = False
    personas.partner.save()
    overview = selectors.coordination_overview(personas.coordinator)
    assert [r.number for r in overview["without_lead"]] == [world.case.number]
    assert not decide(personas.coordinator, Action.VIEW, world.case)
    assert not decide(personas.coordinator, Action.VIEW, world.counselling)


def test_risk_judgement_needs_likelihood_imminence_and_rationale(personas, world):
    with pytest.raises(ValidationError) as caught:
        services.entry_create(
            actor=personas.partner,
            case=world.case,
            data=services.EntryData(
                kind="risk", category=category("risk_assessment"), title="Einschätzung"
            ),
        )
    assert set(caught.value.message_dict) == {"likelihood", "imminence", "text"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"valid_until": "past"}, "valid_until"),
        ({"members": []}, "members"),
        ({"role": "lead_counselling"}, "role"),
    ],
)
def test_bad_participant_input_names_the_field(personas, world, kwargs, field):
    from datetime import timedelta

    from django.utils import timezone

    args = {
        "organisation": org(personas.partner_other),
        "role": role("co_counselling"),
        "members": [personas.partner_other],
        "valid_until": None,
    }
    if kwargs.get("valid_until") == "past":
        args["valid_until"] = timezone.now() - timedelta(days=1)
    if "members" in kwargs:
        args["members"] = kwargs["members"]
    if "role" in kwargs:
        args["role"] = role(kwargs["role"])
    before = world.case.participants.count()
    with pytest.raises(ValidationError) as caught:
        services.participant_add(actor=personas.partner, case=world.case, **args)
    assert field in caught.value.message_dict
    assert world.case.participants.count() == before


def test_denials_are_audited_in_english_whatever_the_reader_speaks(personas, world):
    from django.utils import translation

    with translation.override("de"), pytest.raises(Exception):  # noqa: B017 - Http404
        selectors.access_case(personas.partner_other, world.case.pk)
    denied = AuditEvent.objects.filter(outcome="denied", object_id=str(world.case.pk)).latest("id")
    assert denied.details["reason"].startswith("denied: not a named person")


def test_the_export_holds_the_excerpts_disclosed_to_the_reader_as_the_page_does(personas, world):
    """Issue 18: the police's export of what they may read lacked the excerpts disclosed to
    them, which their case page shows. A pending or rejected one stays out."""
    from casebridge.cooperation_models.models import Term
    from casebridge.sharing import services as sharing_services
    from tests.builders import make_user

    colleague = make_user("colleague", org(personas.partner), "partner_counsellor")
    world.lead.members.add(colleague)
    excerpt = "A. kündigte eine Reise nach Syrien an."
    values = {
        "actor": personas.partner,
        "case": world.case,
        "to_participant": world.police,
        "entries": [],
        "excerpt_category": Term.objects.get(kind="information_category", code="risk_assessment"),
        "purpose": "Gefahrenabwehr",
        "legal_basis": Term.objects.get(kind="legal_basis", code="justifying_emergency"),
        "justification": "Konkrete Reiseplanung.",
    }
    approved = sharing_services.disclosure_request(**values, excerpt=excerpt)
    sharing_services.disclosure_decide(actor=colleague, disclosure=approved, approve=True)
    sharing_services.disclosure_request(**values, excerpt="Noch nicht freigegeben.")
    rows = selectors.export_rows(personas.police, world.case)
    disclosed = [r for r in rows if r["kind"] == "disclosed_excerpt"]
    assert [r["text"] for r in disclosed] == [excerpt]
    assert disclosed[0]["category"] == "risk_assessment"
    assert {r["title"] for r in rows} >= {"Lagebild", "Fallkonferenz geplant"}
    assert not any("Vertrauliche" in r["text"] for r in rows)
    partner_rows = selectors.export_rows(personas.partner, world.case)
    assert not [r for r in partner_rows if r["kind"] == "disclosed_excerpt"]
