"""Checks that keep DESIGN.md's invariants from eroding as the code grows."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from casebridge.crypto.fields import protected_fields

SOURCE = Path(__file__).resolve().parents[1] / "src" / "casebridge"

# Models whose rows are case content, identities, referrals or disclosures (invariant 1),
# and the only modules that may query them: the selectors (reads) and the services
# (writes, on objects the selectors handed out).
PROTECTED_MODELS = {
    "Contact",
    "Referral",
    "ReferralEvent",
    "Case",
    "Entry",
    "RelatedPerson",
    "Goal",
    "Handover",
    "Conference",
    "ConferenceItem",
    "Disclosure",
    "Consent",
    "Obligation",
    "CaseEvent",
    # the hotline's dangers and what it passed on about them (issue 17)
    "ContactEvent",
    "ContactDisclosure",
    "SubjectRequest",
    # who sits in a case with which scope, how scopes changed, and break-glass reads:
    # the facts the policy decides on, read only where the policy is applied
    "Participant",
    "ScopeChange",
    "EmergencyAccess",
    # a transfer carries its reason and its grounds (consent, justification)
    "Transfer",
    # outcomes (issue 20): judgements on a person's course, consent to be contacted after
    # closure and the follow-ups
    "Assessment",
    "Rating",
    "FollowUp",
    "FollowUpConsent",
    # federation (issue 22): a handover to or from a partner installation carries its
    # reason and grounds, a message its copy, a match digest stands for a person
    "CrossHandover",
    "Message",
    "MatchDigest",
}
# Related managers that reach protected rows from another object (case.entries.all(),
# contact.referrals.filter(...)): the related names of the protected models' foreign keys.
RELATED_NAMES = {
    "entries",
    "protocol_events",
    "contact_disclosures_received",
    "participants",
    "referrals",
    "disclosures",
    "consents",
    "obligations",
    "goals",
    "handovers",
    "conferences",
    "related_people",
    "scope_changes",
    "emergency_accesses",
    "events",
    "participations",
    "case_participations",
    "led_participations",
    "hotline_contacts",
    "later_contacts",
    "referrals_received",
    "owned_cases",
    "transfers",
    "transfers_sent",
    "transfers_received",
    "assessments",
    "ratings",
    "follow_ups",
}
QUERY_METHODS = {
    "all",
    "filter",
    "exclude",
    "get",
    "count",
    "exists",
    "order_by",
    "values",
    "values_list",
    "first",
    "last",
    "select_related",
    "prefetch_related",
    "annotate",
    "aggregate",
    "active",
}
ALLOWED = {
    "hotline/selectors.py",
    "hotline/services.py",
    "cases/selectors.py",
    "cases/services.py",
    "sharing/selectors.py",
    "sharing/services.py",
    # the worker reminds of obligations: case numbers and rule codes only
    "sharing/tasks.py",
    # protocol events (the access kernel): writes the event and the obligations the SOP
    # attaches to it, for the service that raised it; reads participants' codes only
    "access/protocol.py",
    # the policy itself: derives the seats from participants and emergency accesses
    "access/policy.py",
    # emergency access: the services that start, end, close and review one
    "sharing/emergency.py",
    # the coordinator's replay of a draft SOP (issue 19): reads events, participants,
    # obligations and approved disclosures of a period as codes, ids and times only (no
    # text, no excerpt, no name) for the pure sop.replay; writes nothing
    "sharing/replay.py",
    # counts open referrals per partner for capacity: numbers, no content
    "hotline/routing.py",
    # writes synthetic demo and benchmark data; shows nothing to anybody
    "ops/demo.py",
    "ops/volume.py",
    # data subject requests: the DPO's only route to content, every read audited with the
    # purpose "subject request <ref>"; erasure and retention empty content, keep statistics
    "privacy/selectors.py",
    "privacy/services.py",
    "privacy/erasure.py",
    "privacy/retention.py",
    # statistics read protected models in aggregate only, through stats.registry.source()
    # and the columns stats.registry.READABLE lists (no identity, no free text; the SQL is
    # checked in tests/stats/test_registry.py); every figure passes disclosure control
    "stats/registry.py",
    "stats/indicators.py",
    # the monthly figures the contact indicators read: counted from the same columns,
    # through stats.registry.source(), kept in step by signal receivers (checked alike)
    "stats/aggregates.py",
    # the monthly outcome figures of closed cases (issue 20): the same, for assessments'
    # levels, consents and follow-ups (codes, days and levels; never a rationale or note)
    "stats/outcome_figures.py",
    # outcomes: assessments are entries, read through the policy's visible(); consent and
    # follow-ups for seats reading the case's coordination; writes on what those handed out
    "outcomes/selectors.py",
    "outcomes/services.py",
    # the worker reminds the lead of a follow-up: case number and day only, consent first
    "outcomes/tasks.py",
    # federation (issue 22): handovers and messages through the agreement and the case's
    # policy; the inbox reads identities only to digest them for person matches
    "federation/selectors.py",
    "federation/services.py",
}


def _queries_in(path: Path) -> list[str]:
    """Return `Model.objects` uses and related-manager queries of protected models."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in {"objects", "_default_manager", "_base_manager"}
            and isinstance(node.value, ast.Name)
            and node.value.id in PROTECTED_MODELS
        ):
            found.append(f"{node.value.id}.{node.attr} (line {node.lineno})")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"get_object_or_404", "get_list_or_404"}
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in PROTECTED_MODELS
        ):
            found.append(f"{node.func.id}({node.args[0].id}) (line {node.lineno})")
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "source"
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in PROTECTED_MODELS
        ):
            found.append(f"source({node.args[0].id}) (line {node.lineno})")
        if (
            isinstance(node, ast.Attribute)
            and node.attr in QUERY_METHODS
            and isinstance(node.value, ast.Attribute)
            and node.value.attr in RELATED_NAMES
        ):
            found.append(f".{node.value.attr}.{node.attr} (line {node.lineno})")
    return found


def test_only_selectors_and_services_query_protected_models():
    offenders = {}
    for path in SOURCE.rglob("*.py"):
        relative = path.relative_to(SOURCE).as_posix()
        if relative in ALLOWED or "/migrations/" in relative:
            continue
        uses = _queries_in(path)
        if uses:
            offenders[relative] = uses
    assert offenders == {}


def test_the_check_would_catch_a_view_that_queries_contacts(tmp_path):
    rogue = tmp_path / "views.py"
    rogue.write_text(
        "from casebridge.hotline.models import Contact\n"
        "Contact.objects.all()\n"
        "get_object_or_404(Entry, pk=1)\n"
        "registry.source(Case).count()\n"
        "case.entries.filter(category=1)\n"
        "Participant.objects.active()\n"
    )
    assert set(_queries_in(rogue)) == {
        "Contact.objects (line 2)",
        "get_object_or_404(Entry) (line 3)",
        "source(Case) (line 4)",
        ".entries.filter (line 5)",
        "Participant.objects (line 6)",
    }


def test_identity_fields_are_declared_protected():
    names = {(model.__name__, name) for model, name in protected_fields()}
    assert {
        ("Contact", "caller_name"),
        ("Contact", "caller_phone"),
        ("Contact", "caller_email"),
    } <= names


def test_no_protected_field_is_searchable_by_url():
    """Forms sent by GET carry their values in the URL; none may hold identity fields."""
    protected = {name for _model, name in protected_fields()}
    for template in SOURCE.rglob("templates/**/*.html"):
        text = template.read_text()
        for form in re.findall(r"<form[^>]*method=\"get\"[^>]*>(.*?)</form>", text, re.S | re.I):
            for name in protected:
                assert f'name="{name}"' not in form, (template, name)
