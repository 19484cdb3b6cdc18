"""Drafts of the German procedure that the procedure tests start from: between the NGO
partner and the police liaison, signed (if asked) by both and by the DPO as legal
reviewer."""

from __future__ import annotations

from casebridge.procedures import services
from casebridge.sharing.models import Protocol
from tests.builders import org

PARTIES = ["ngo_counselling_partner", "police_liaison_unit"]
NEW_RULE = {
    "code": "travel-police-24h",
    "event": "travel_to_conflict_zone",
    "obligation": "must_inform",
    "recipient": {"role": "police_liaison"},
    "categories": ["case_coordination"],
    "deadline": "within_hours:24",
    "legal_basis": "justifying_emergency",
    "second_approval": True,
    "label": {"de": "Ausreise: Polizei binnen 24 h", "en": "Travel: police within 24 h"},
}


def name_signatories(personas, draft: Protocol):
    return services.signatories_set(
        actor=personas.coordinator,
        protocol=draft,
        parties={
            "ngo_counselling_partner": (org(personas.partner), personas.partner),
            "police_liaison_unit": (org(personas.police), personas.police),
        },
        legal_reviewer=personas.dpo,
    )


def draft_with_signatories(personas, version: str = "2027.1", *, signed: bool = False):
    """A draft of the version in force with PARTIES and its signatories named; with
    ``signed``, signed by all three (through the service: outside a request the machine's
    authority confirms, so this is about the paths, not the step-up)."""
    active = Protocol.objects.get(code="de-default", status="active")
    draft = services.draft_start(actor=personas.coordinator, based_on=active, version=version)
    draft.parties = PARTIES
    draft.save()
    name_signatories(personas, draft)
    if signed:
        for person in (personas.partner, personas.police, personas.dpo):
            services.protocol_sign(actor=person, protocol=draft, content_hash=draft.content_hash)
    return draft
