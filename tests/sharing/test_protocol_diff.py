"""The difference between two versions of a procedure, in words (issue 19, part 2)."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from django.urls import reverse

from casebridge.cooperation_models.schema import RuleEntry
from casebridge.sharing.models import Protocol
from casebridge.sop.diff import compare

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions(personas):
    active = Protocol.objects.get(code="de-default", status="active")
    rules = copy.deepcopy(active.rules)
    for rule in rules:
        if rule["code"] == "child-welfare":
            rule["deadline"] = "within_hours:72"
            rule["second_approval"] = False
    rules = [rule for rule in rules if rule["code"] != "release-lead"]
    rules.append(
        {
            "code": "school-brief",
            "event": "case_opened",
            "obligation": "may_inform",
            "recipient": {"role": "school"},
            "categories": ["case_coordination"],
            "deadline": "within_days:14",
            "legal_basis": "consent_gdpr",
            "consent_required": True,
            "label": {"de": "Schule einbinden", "en": "Involve the school"},
        }
    )
    draft = Protocol.objects.create(
        code="de-default",
        version="2027.1",
        status=Protocol.Status.DRAFT,
        effective_from=date(2027, 1, 1),
        parties=active.parties,
        labels=active.labels,
        rules=rules,
    )
    return active, draft


def test_the_changes_read_as_sentences(versions):
    active, draft = versions
    changes = {c.rule: c for c in compare(active.parsed_rules(), draft.parsed_rules())}
    assert set(changes) == {"child-welfare", "release-lead", "school-brief"}
    welfare = changes["child-welfare"]
    assert welfare.kind == "changed"
    assert {f.field for f in welfare.fields} == {"deadline", "second person approves"}
    assert "deadline now within 72 hours instead of within 24 hours" in welfare.summary
    assert changes["release-lead"].kind == "removed"
    assert changes["school-brief"].kind == "added"
    assert "may inform school" in changes["school-brief"].summary
    assert compare(active.parsed_rules(), active.parsed_rules()) == []


def test_page_and_api_in_both_languages(personas, versions):
    active, draft = versions
    client = personas.client(personas.coordinator)
    assert "Compare two versions" in client.get(reverse("procedures:list")).content.decode()
    url = reverse("procedures:diff") + f"?old={active.pk}&new={draft.pk}"
    page = client.get(url).content.decode()
    assert "within 72 hours instead of within 24 hours" in page
    assert "Youth welfare office" in page or "youth welfare" in page.lower()
    personas.coordinator.language = "de"
    personas.coordinator.save()
    german = personas.client(personas.coordinator).get(url).content.decode()
    assert "innerhalb von 72 Stunden statt innerhalb von 24 Stunden" in german
    rows = client.get(f"/api/v1/sop/protocols/{active.pk}/compare/{draft.pk}").json()
    assert {row["rule"] for row in rows} == {"child-welfare", "release-lead", "school-brief"}
    assert client.get(f"/api/v1/sop/protocols/{active.pk}/compare/999999").status_code == 404
    same = client.get(reverse("procedures:diff") + f"?old={active.pk}&new={active.pk}")
    assert "same rules" in same.content.decode() or "gleichen Regeln" in same.content.decode()


def test_a_changed_sender_says_who_informs_now(versions):
    active, draft = versions
    rules = copy.deepcopy(active.rules)
    for rule in rules:
        if rule["code"] == "release-lead":
            del rule["sender"]
    lead_sent = [RuleEntry.model_validate(rule) for rule in rules]  # release-lead: no sender
    changes = {c.rule: c for c in compare(lead_sent, active.parsed_rules())}
    assert set(changes) == {"release-lead"}
    change = changes["release-lead"]
    assert [f.key for f in change.fields] == ["sender"]
    assert change.summary == "now prison informs instead of the case's lead"
    back = compare(active.parsed_rules(), lead_sent)[0]
    assert back.summary == "now the case's lead informs instead of prison"
    removed = compare(active.parsed_rules(), draft.parsed_rules())
    release = next(c for c in removed if c.rule == "release-lead")
    assert release.summary.startswith("No longer: at release from prison scheduled: prison must")
