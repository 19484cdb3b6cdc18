"""Role-play runs through HTTP: start, join, answer each event, feedback, finish, debrief;
the API; who sees what; and that training never touches real cases."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.urls import reverse

from casebridge.audit.models import AuditEvent
from casebridge.training.models import TrainingAnswer, TrainingParticipant, TrainingRun

pytestmark = pytest.mark.django_db


def start(client, scenario="worried-mother") -> TrainingRun:
    response = client.post(reverse("training:run_create"), {"scenario": scenario})
    assert response.status_code == 302
    return TrainingRun.objects.latest("created_at")


def answer_url(run, number):
    return reverse("training:answer", args=[run.pk, number])


def test_a_full_run_through_the_pages(personas):
    partner = personas.client(personas.partner)
    page = partner.get(reverse("training:runs"))
    assert page.status_code == 200
    assert "The worried mother" in page.content.decode()
    run = start(partner)
    partner.post(reverse("training:join", args=[run.pk]), {"party": "counsellor"})
    police = personas.client(personas.police)
    police.post(reverse("training:join", args=[run.pk]), {"party": "police"})

    # Event 1: the counsellor says nobody is informed (right); the police expect a report.
    response = partner.post(answer_url(run, 1), {"nobody": "on"})
    assert response.status_code == 302
    body = partner.get(reverse("training:run", args=[run.pk])).content.decode()
    assert "Your answer matches the procedure." in body
    response = police.post(
        answer_url(run, 1),
        {
            "flow_0_recipient": "role:police_liaison",
            "flow_0_obligation": "must_inform",
            "flow_0_categories": ["counselling"],
            "flow_0_legal_basis": "consent_gdpr",
            "flow_0_deadline": "within_days:3",
        },
    )
    assert response.status_code == 302
    body = police.get(reverse("training:run", args=[run.pk])).content.decode()
    assert "1 difference" in body
    assert "No counselling content or identity to the security sector" in body

    # The debrief opens only when the facilitator finishes the run.
    assert partner.get(reverse("training:debrief", args=[run.pk])).status_code == 404
    assert police.post(reverse("training:finish", args=[run.pk])).status_code == 403
    partner.post(answer_url(run, 2), {"nobody": "on"})
    assert partner.post(reverse("training:finish", args=[run.pk])).status_code == 302
    debrief = police.get(reverse("training:debrief", args=[run.pk]))
    assert debrief.status_code == 200
    text = debrief.content.decode()
    assert "Matches the procedure." in text
    assert "No answer." in text  # the police did not answer event 2
    assert "forbids sharing" in text


def test_answers_come_in_order_and_once(personas):
    client = personas.client(personas.partner)
    run = start(client)
    client.post(reverse("training:join", args=[run.pk]), {"party": "counsellor"})
    response = client.post(answer_url(run, 2), {"nobody": "on"})
    assert response.status_code == 422
    assert "Answer event 1 next." in response.content.decode()
    client.post(answer_url(run, 1), {"nobody": "on"})
    assert client.post(answer_url(run, 1), {"nobody": "on"}).status_code == 422
    assert TrainingAnswer.objects.filter(participant__run=run).count() == 1


def test_bad_answer_names_the_field_and_saves_nothing(personas):
    client = personas.client(personas.partner)
    run = start(client, "danger-to-others")
    client.post(reverse("training:join", args=[run.pk]), {"party": "counsellor"})
    before = AuditEvent.objects.count()
    response = client.post(
        answer_url(run, 1),
        {
            "flow_1_recipient": "role:police_liaison",
            "flow_1_obligation": "may_inform",
            "flow_1_legal_basis": "justifying_emergency",
        },
    )
    assert response.status_code == 422
    form = response.context["answer_form"]
    assert form.errors["flow_1_categories"] == ["Choose at least one information category."]
    assert form.errors["flow_1_deadline"] == ["Choose by when."]
    empty = client.post(answer_url(run, 1), {})
    assert "Name at least one flow, or say that nobody is informed." in empty.content.decode()
    assert not TrainingAnswer.objects.exists()
    assert AuditEvent.objects.count() == before


def test_one_player_per_role_and_one_role_per_player(personas):
    client = personas.client(personas.partner)
    run = start(client, "danger-to-others")
    client.post(reverse("training:join", args=[run.pk]), {"party": "counsellor"})
    again = client.post(reverse("training:join", args=[run.pk]), {"party": "police"})
    assert "You already play a role in this run." in again.content.decode()
    other = personas.client(personas.partner_other)
    taken = other.post(reverse("training:join", args=[run.pk]), {"party": "counsellor"})
    assert taken.status_code == 422
    assert TrainingParticipant.objects.filter(run=run).count() == 1


def test_unknown_scenario_is_refused(personas):
    client = personas.client(personas.partner)
    response = client.post(reverse("training:run_create"), {"scenario": "nope"}, follow=True)
    assert "Choose one of the scenarios." in response.content.decode()
    assert not TrainingRun.objects.exists()


def test_users_without_a_role_cannot_train(personas):
    client = personas.client(personas.outsider)
    assert client.get(reverse("training:runs")).status_code == 403
    assert (
        client.post(reverse("training:run_create"), {"scenario": "worried-mother"}).status_code
        == 403
    )
    assert client.get("/api/v1/training/scenarios").status_code == 403
    expired = personas.client(personas.prison_expired)
    assert expired.get(reverse("training:runs")).status_code == 403


def test_a_finished_run_is_hidden_from_those_who_did_not_play(personas):
    client = personas.client(personas.partner)
    run = start(client)
    client.post(reverse("training:finish", args=[run.pk]))
    assert (
        personas.client(personas.police).get(reverse("training:run", args=[run.pk])).status_code
        == 404
    )
    coordinator = personas.client(personas.coordinator)
    assert coordinator.get(reverse("training:debrief", args=[run.pk])).status_code == 200


def test_runs_are_audited_with_codes_only(personas):
    client = personas.client(personas.partner)
    run = start(client, "danger-to-others")
    client.post(reverse("training:join", args=[run.pk]), {"party": "counsellor"})
    client.post(answer_url(run, 1), {"nobody": "on"})
    events = AuditEvent.objects.filter(action__startswith="training.").order_by("id")
    assert [e.action for e in events] == [
        "training.scenario.baseline",  # the scenario's first run records its expected answers
        "training.run.create",
        "training.run.join",
        "training.answer.submit",
    ]
    assert events[0].actor is None
    assert events[0].details["scenario"] == "danger-to-others"
    assert events[3].details == {"event": 1, "flows": 0, "party": "counsellor"}


def test_the_page_reads_german(personas):
    personas.partner.language = "de"
    personas.partner.save(update_fields=["language"])
    client = personas.client(personas.partner)
    run = start(client)
    client.post(reverse("training:join", args=[run.pk]), {"party": "counsellor"})
    body = client.get(reverse("training:run", args=[run.pk])).content.decode()
    assert "Die besorgte Mutter" in body
    assert "Erste Analyse am Telefon" in body


def test_the_api_runs_a_scenario(personas):
    client = personas.client(personas.partner)
    scenarios = client.get("/api/v1/training/scenarios").json()
    assert len(scenarios) >= 5
    created = client.post(
        "/api/v1/training/runs", {"scenario": "danger-to-others"}, content_type="application/json"
    )
    assert created.status_code == 201
    run_id = created.json()["id"]
    joined = client.post(
        f"/api/v1/training/runs/{run_id}/join",
        {"party": "counsellor"},
        content_type="application/json",
    )
    assert joined.json()["players"] == [
        {"username": "partner", "party": "counsellor", "answered": 0}
    ]
    bad = client.post(
        f"/api/v1/training/runs/{run_id}/events/1/answer",
        {"flows": [{"recipient": "role:nobody", "obligation": "may_inform", "categories": []}]},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert set(bad.json()["fields"]) >= {"flows.0.recipient", "flows.0.categories"}
    answered = client.post(
        f"/api/v1/training/runs/{run_id}/events/1/answer",
        {
            "flows": [
                {
                    "recipient": "role:police_liaison",
                    "obligation": "may_inform",
                    "categories": ["risk_assessment"],
                    "legal_basis": "justifying_emergency",
                    "deadline": "within_days:3",
                }
            ]
        },
        content_type="application/json",
    )
    assert answered.status_code == 201
    feedback = answered.json()
    assert feedback["correct"] is False
    assert [d["kind"] for d in feedback["differences"]] == ["deadline"]
    assert feedback["differences"][0]["rule"] == "travel-plans"
    assert feedback["differences"][0]["explanation"]
    assert client.get(f"/api/v1/training/runs/{run_id}/debrief").status_code == 404
    assert client.post(f"/api/v1/training/runs/{run_id}/finish").status_code == 200
    debrief = client.get(f"/api/v1/training/runs/{run_id}/debrief").json()
    assert [e["code"] for e in debrief] == [
        "travel_to_conflict_zone",
        "risk_judgement_recorded",
        "risk_judgement_recorded",
    ]
    assert debrief[1]["answers"][0]["feedback"] is None
    other = personas.client(personas.police)
    assert other.get(f"/api/v1/training/runs/{run_id}").status_code == 404


# --- training never mixes with real cases ------------------------------------------------


REAL_APPS = {"cases", "hotline", "network", "privacy"}


def test_no_training_model_can_reference_a_case_contact_or_organisation():
    for model in apps.get_app_config("training").get_models():
        for field in model._meta.get_fields():
            target = getattr(field, "related_model", None)
            if target is None:
                continue
            assert target._meta.app_label not in REAL_APPS, (model.__name__, field.name)
            if target._meta.app_label == "sharing":
                assert target.__name__ == "Protocol", (model.__name__, field.name)


def test_no_real_model_references_training():
    for model in apps.get_models():
        if model._meta.app_label == "training":
            continue
        for field in model._meta.get_fields():
            target = getattr(field, "related_model", None)
            assert target is None or target._meta.app_label != "training", (model, field)


def test_a_run_creates_no_case_content_and_real_selectors_do_not_see_it(personas):
    from casebridge.cases import selectors as case_selectors
    from casebridge.cases.models import Case
    from casebridge.hotline.models import Contact
    from casebridge.sharing import selectors as sharing_selectors
    from casebridge.sharing.models import CaseEvent, Obligation

    client = personas.client(personas.partner)
    run = start(client, "danger-to-others")
    client.post(reverse("training:join", args=[run.pk]), {"party": "counsellor"})
    for number in (1, 2, 3):
        client.post(answer_url(run, number), {"nobody": "on"})
    counts = [m.objects.count() for m in (Case, Contact, CaseEvent, Obligation)]
    assert counts == [0, 0, 0, 0]
    tasks = sharing_selectors.my_tasks(personas.partner)
    assert tasks["obligations"] == []
    assert case_selectors.my_cases(personas.partner) == []
    assert case_selectors.search_entries(personas.partner, "Can") == []
