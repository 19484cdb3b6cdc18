"""Scenarios checked against the version of their procedure in force (issue 19, part 5):
the first sight records a baseline; a version that changes a scenario's expected answers
flags it, with the changes in words; runs of it wait for a coordinator's review; a run
already started keeps its version. And each player is scored on their own role's flows."""

from __future__ import annotations

import copy
from datetime import date

import pytest
from django.urls import reverse

from casebridge.audit.models import AuditEvent
from casebridge.sharing.models import Protocol
from casebridge.training.models import ScenarioReview, TrainingRun

pytestmark = pytest.mark.django_db

SCENARIOS = {"worried-mother", "school-report", "prison-release", "returning-family"}
SCENARIOS |= {"danger-to-others"}


def new_version(change) -> Protocol:
    """Version 2027.1 of the German procedure, with ``change(rules)`` applied, in force."""
    active = Protocol.objects.get(code="de-default", status=Protocol.Status.ACTIVE)
    rules = copy.deepcopy(active.rules)
    change(rules)
    active.status = Protocol.Status.RETIRED
    active.save(update_fields=["status"])
    return Protocol.objects.create(
        code="de-default",
        version="2027.1",
        status=Protocol.Status.ACTIVE,
        effective_from=date(2026, 12, 1),
        parties=active.parties,
        labels=active.labels,
        rules=rules,
    )


def lead_tells_of_the_release(rules):
    """The old way: the lead informs the lead of the release — and a day earlier."""
    for rule in rules:
        if rule["code"] == "release-lead":
            rule.pop("sender", None)
            rule["deadline"] = "days_before_event:21"


def test_the_first_sight_records_a_baseline_and_flags_nothing(personas):
    client = personas.client(personas.partner)
    page = client.get(reverse("training:runs")).content.decode()
    assert "Needs review" not in page
    baselines = ScenarioReview.objects.all()
    assert {r.scenario_code for r in baselines} == SCENARIOS
    assert all(r.automatic and r.protocol.version == "2026.1" for r in baselines)
    release = baselines.get(scenario_code="prison-release")
    first = release.expected[0]
    assert first["code"] == "release_scheduled"
    assert {(f["rule"], f["sender"]) for f in first["flows"]} == {
        ("release-probation", "prison"),
        ("release-lead", "prison"),
    }
    client.get(reverse("training:runs"))
    client.get("/api/v1/training/scenarios")
    assert ScenarioReview.objects.count() == len(SCENARIOS)
    assert AuditEvent.objects.filter(action="training.scenario.baseline").count() == len(SCENARIOS)


def test_a_version_that_changes_the_answer_flags_the_scenario_until_reviewed(personas):
    partner = personas.client(personas.partner)
    partner.get(reverse("training:runs"))
    new = new_version(lead_tells_of_the_release)

    # the runs page and the API flag only the scenario whose expected answer changed
    page = partner.get(reverse("training:runs")).content.decode()
    assert page.count("Needs review") == 1
    scenarios = {s["code"]: s for s in partner.get("/api/v1/training/scenarios").json()}
    assert {c for c, s in scenarios.items() if s["needs_review"]} == {"prison-release"}
    assert scenarios["prison-release"]["protocol_version"] == "2027.1"

    # the review page says what changed, in words
    url = reverse("training:scenario_review", args=["prison-release"])
    body = partner.get(url).content.decode()
    assert "Event 1: Release date set" in body
    assert "now NGO counsellor informs Lead counselling instead of Prison" in body
    assert "deadline now 21 days before the date of the event instead of 14 days" in body
    assert "I reviewed this scenario" not in body  # only coordinators review
    status = partner.get("/api/v1/training/scenarios/prison-release/review").json()
    assert status["needs_review"] is True
    assert status["reviewed_version"] == "2026.1" and status["reviewed_by"] is None
    assert [e["event"] for e in status["changed_events"]] == [1]

    # starting a run is refused, naming the scenario, on the page and in the API
    refused = partner.post(
        reverse("training:run_create"), {"scenario": "prison-release"}, follow=True
    )
    assert "“Release from prison” needs a review" in refused.content.decode()
    api = partner.post(
        "/api/v1/training/runs", {"scenario": "prison-release"}, content_type="application/json"
    )
    assert api.status_code == 422
    assert "Release from prison" in str(api.json())
    assert not TrainingRun.objects.filter(scenario_code="prison-release").exists()
    # the other scenarios still start
    started = partner.post(reverse("training:run_create"), {"scenario": "worried-mother"})
    assert started.status_code == 302
    assert TrainingRun.objects.filter(scenario_code="worried-mother").exists()

    # a partner counsellor may not review; a coordinator reviews against the version in force
    assert partner.post(url, {"version": "2027.1"}).status_code == 403
    coordinator = personas.client(personas.coordinator)
    assert "I reviewed this scenario against version 2027.1" in (
        coordinator.get(url).content.decode()
    )
    stale = coordinator.post(url, {"version": "2026.1"})
    assert stale.status_code == 422
    assert "Version 2027.1 of the procedure is in force now" in stale.content.decode()
    assert coordinator.post(url, {"version": "2027.1"}).status_code == 302
    review = ScenarioReview.objects.filter(scenario_code="prison-release").latest("reviewed_at")
    assert (review.reviewed_by, review.protocol) == (personas.coordinator, new)
    event = AuditEvent.objects.filter(action="training.scenario.review").get()
    assert event.details == {
        "scenario": "prison-release",
        "protocol": new.pk,
        "version": "2027.1",
        "events_changed": [1],
    }
    # confirming again writes nothing
    again = coordinator.post(
        "/api/v1/training/scenarios/prison-release/review",
        {"version": "2027.1"},
        content_type="application/json",
    )
    assert again.status_code == 200
    assert again.json()["needs_review"] is False
    assert again.json()["reviewed_by"] == "coordinator"
    assert AuditEvent.objects.filter(action="training.scenario.review").count() == 1

    # now runs start, against the new version
    partner.post(reverse("training:run_create"), {"scenario": "prison-release"})
    run = TrainingRun.objects.get(scenario_code="prison-release")
    assert run.protocol == new


def test_a_version_activated_for_a_later_day_changes_nothing_yet(personas):
    from datetime import timedelta

    from django.utils import timezone

    partner = personas.client(personas.partner)
    partner.get(reverse("training:runs"))
    current = Protocol.objects.get(code="de-default", status=Protocol.Status.ACTIVE)
    later = new_version(lead_tells_of_the_release)
    later.effective_from = timezone.localdate() + timedelta(days=30)
    later.save(update_fields=["effective_from"])
    current.status = Protocol.Status.ACTIVE  # in force until the day before
    current.effective_until = later.effective_from - timedelta(days=1)
    current.save(update_fields=["status", "effective_until"])
    scenarios = partner.get("/api/v1/training/scenarios").json()
    assert not any(s["needs_review"] for s in scenarios)
    assert {s["protocol_version"] for s in scenarios} == {"2026.1"}
    partner.post(reverse("training:run_create"), {"scenario": "prison-release"})
    assert TrainingRun.objects.get().protocol == current


def test_a_run_already_started_keeps_its_version(personas):
    partner = personas.client(personas.partner)
    partner.post(reverse("training:run_create"), {"scenario": "prison-release"})
    run = TrainingRun.objects.get()
    old = run.protocol
    partner.post(reverse("training:join", args=[run.pk]), {"party": "prison"})
    new_version(lead_tells_of_the_release)
    answer = partner.post(
        reverse("training:answer", args=[run.pk, 1]),
        {
            "flow_0_recipient": "role:probation",
            "flow_0_obligation": "must_inform",
            "flow_0_categories": ["case_coordination", "justice"],
            "flow_0_legal_basis": "consent_gdpr",
            "flow_0_deadline": "days_before_event:14",
            "flow_1_recipient": "role:lead_counselling",
            "flow_1_obligation": "must_inform",
            "flow_1_categories": ["justice"],
            "flow_1_legal_basis": "social_data_sgbx",
            "flow_1_deadline": "days_before_event:14",
        },
    )
    assert answer.status_code == 302
    run.refresh_from_db()
    assert run.protocol == old
    body = partner.get(reverse("training:run", args=[run.pk])).content.decode()
    assert "Your answer matches the procedure." in body


def test_unknown_scenarios_and_people_without_a_role(personas):
    coordinator = personas.client(personas.coordinator)
    assert coordinator.get(reverse("training:scenario_review", args=["nope"])).status_code == 404
    assert coordinator.get("/api/v1/training/scenarios/nope/review").status_code == 404
    outsider = personas.client(personas.outsider)
    url = reverse("training:scenario_review", args=["prison-release"])
    assert outsider.get(url).status_code == 403
    assert outsider.post(url, {"version": "2026.1"}).status_code == 403
    assert not ScenarioReview.objects.exists()


def test_the_review_page_reads_german(personas):
    personas.coordinator.language = "de"
    personas.coordinator.save(update_fields=["language"])
    client = personas.client(personas.coordinator)
    client.get(reverse("training:runs"))
    new_version(lead_tells_of_the_release)
    body = client.get(reverse("training:scenario_review", args=["prison-release"])).content
    assert "Entlassungstermin steht fest" in body.decode()  # the scenario's own German


# --- each player on the flows of their own role ------------------------------------------


def test_the_police_saying_nobody_is_informed_is_right_where_only_the_lead_informs(personas):
    partner = personas.client(personas.partner)
    partner.post(reverse("training:run_create"), {"scenario": "danger-to-others"})
    run = TrainingRun.objects.get()
    partner.post(reverse("training:join", args=[run.pk]), {"party": "counsellor"})
    police = personas.client(personas.police)
    police.post(reverse("training:join", args=[run.pk]), {"party": "police"})
    for number in (1, 2, 3):
        response = police.post(reverse("training:answer", args=[run.pk, number]), {"nobody": "on"})
        assert response.status_code == 302
    body = police.get(reverse("training:run", args=[run.pk])).content.decode()
    assert body.count("Your answer matches the procedure.") == 3
    assert "You left out a flow" not in body
    assert "What the other roles must do (for information, not scored)" in body
    feedback = police.get(f"/api/v1/training/runs/{run.pk}/feedback").json()
    assert all(f["correct"] for f in feedback)
    assert {o["rule"] for o in feedback[2]["others"]} >= {"duty-138"}
    assert {o["sender"] for o in feedback[2]["others"]} == {"counsellor"}
    # the counsellor, the lead, is still told of the duty
    partner.post(reverse("training:answer", args=[run.pk, 1]), {"nobody": "on"})
    partner.post(reverse("training:answer", args=[run.pk, 2]), {"nobody": "on"})
    partner.post(reverse("training:answer", args=[run.pk, 3]), {"nobody": "on"})
    mine = partner.get(f"/api/v1/training/runs/{run.pk}/feedback").json()
    assert "duty-138" in {d["rule"] for d in mine[2]["differences"] if d["kind"] == "missing"}
