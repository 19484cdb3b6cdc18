"""Outcomes through the pages and the services: assessments on the model's scales by a
named professional, who may read them, follow-ups only with consent, their reminders,
and goals from templates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from casebridge.audit.models import AuditEvent
from casebridge.cases import services as case_services
from casebridge.cases.models import Entry, Goal
from casebridge.dates import add_months
from casebridge.outcomes import services
from casebridge.outcomes.models import Assessment, FollowUp, FollowUpConsent, Rating
from casebridge.outcomes.services import RatingIn
from casebridge.outcomes.tasks import remind_follow_ups
from tests.builders import make_user, org, term, whole_case_page

pytestmark = pytest.mark.django_db

RATIONALE = "Distanziert sich im Gespräch deutlich von der Gruppe XY-Rationale."
FORM = "assess-counselling"


def _section(client, case) -> str:
    response = client.get(reverse("cases:case", args=[case.pk]) + "?section=outcomes")
    assert response.status_code == 200
    return response.content.decode()


def _post_assessment(client, case, **levels):
    data = {
        f"{FORM}-occasion": "intake",
        f"{FORM}-assessed_on": timezone.localdate().isoformat(),
        f"{FORM}-rationale": RATIONALE,
        **{f"{FORM}-level_{code}": str(level) for code, level in levels.items()},
    }
    return client.post(reverse("outcomes:assess", args=[case.pk, "counselling"]), data)


def _assess(personas, world, occasion="intake", **levels) -> Assessment:
    return services.assessment_record(
        actor=personas.partner,
        case=world.case,
        occasion=occasion,
        ratings=[RatingIn(code, level) for code, level in levels.items()],
        rationale=RATIONALE,
    )


def _close(personas, world):
    return case_services.case_close(
        actor=personas.partner,
        case=world.case,
        closing_reason=term("case_closing_reason", "goals_reached"),
    )


# --- the model file ----------------------------------------------------------------------


def test_the_german_model_declares_dimensions_with_scales_and_one_headline():
    from casebridge.outcomes.selectors import dimensions, goal_templates

    found = {d.code: d for d in dimensions()}
    assert {"disengagement", "network_ties", "violent_identity", "questioning_beliefs"} <= set(
        found
    )
    assert [d.code for d in found.values() if d.attributes.get("headline")] == ["disengagement"]
    assert all(len(d.attributes["levels"]) >= 2 for d in found.values())
    assert {t.attributes["dimension"] for t in goal_templates()} <= set(found)


# --- assessments -------------------------------------------------------------------------


def test_the_lead_records_an_assessment_in_the_page_and_sees_the_course(personas, world):
    client = personas.client(personas.partner)
    response = _post_assessment(client, world.case, disengagement=1, network_ties=0)
    assert response.status_code == 302
    assessment = Assessment.objects.get(case=world.case)
    assert assessment.entry.author == personas.partner
    assert assessment.entry.category.code == "counselling"
    assert assessment.entry.text == RATIONALE
    assert {(r.dimension.code, r.level) for r in assessment.ratings.all()} == {
        ("disengagement", 1),
        ("network_ties", 0),
    }
    page = _section(client, world.case)
    assert "Ambivalent about violence" in page and "Firmly embedded" in page
    personas.partner.language = "de"
    personas.partner.save(update_fields=["language"])
    page = _section(personas.client(personas.partner), world.case)
    assert "Ambivalent gegenüber Gewalt" in page and "Fest eingebunden" in page


def test_a_second_assessment_adds_a_column_to_the_course(personas, world):
    from casebridge.outcomes.selectors import case_course

    _assess(personas, world, disengagement=0)
    _assess(personas, world, occasion="review", disengagement=2, housing=1)
    course = case_course(personas.partner, world.case)
    assert [c.assessment.occasion for c in course.columns] == ["intake", "review"]
    rows = {row.dimension.code: row.cells for row in course.rows}
    assert rows["disengagement"] == ["Endorses or uses violence", "Mostly rejects violence"]
    assert rows["housing"] == ["", "Temporary housing"]
    assert "network_ties" not in rows  # never judged: no empty row


@pytest.mark.parametrize(
    ("levels", "field", "message"),
    [
        ({"disengagement": "4"}, "level_disengagement", "Select a valid choice"),
        ({}, None, "Choose a level on at least one dimension."),
    ],
)
def test_a_level_outside_the_scale_or_none_changes_nothing(personas, world, levels, field, message):
    client = personas.client(personas.partner)
    entries = Entry.objects.count()
    response = _post_assessment(client, world.case, **levels)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert Entry.objects.count() == entries and not Assessment.objects.exists()


def test_the_service_refuses_levels_outside_the_scale_and_unknown_dimensions(personas, world):
    from django.core.exceptions import ValidationError

    for ratings, message in [
        ([RatingIn("disengagement", 4)], "between 0 and 3"),
        ([RatingIn("disengagement", -1)], "between 0 and 3"),
        ([RatingIn("charisma", 1)], '"charisma" is not an outcome dimension'),
        ([RatingIn("housing", 1), RatingIn("housing", 2)], "rated twice"),
    ]:
        with pytest.raises(ValidationError) as caught:
            services.assessment_record(
                actor=personas.partner,
                case=world.case,
                occasion="intake",
                ratings=ratings,
                rationale=RATIONALE,
            )
        assert message in " ".join(caught.value.message_dict["ratings"])
    assert not Assessment.objects.exists() and not Rating.objects.exists()


def test_the_rationale_the_date_and_the_occasion_are_checked(personas, world):
    from django.core.exceptions import ValidationError

    today = timezone.localdate()
    for kwargs, field in [
        ({"rationale": "  "}, "rationale"),
        ({"assessed_on": today + timedelta(days=1)}, "assessed_on"),
        ({"assessed_on": today - timedelta(days=400)}, "assessed_on"),
        ({"occasion": "whenever"}, "occasion"),
        ({"occasion": "follow_up"}, "occasion"),  # only through a follow-up
    ]:
        args = {"occasion": "intake", "rationale": RATIONALE, **kwargs}
        with pytest.raises(ValidationError) as caught:
            services.assessment_record(
                actor=personas.partner,
                case=world.case,
                ratings=[RatingIn("disengagement", 1)],
                **args,
            )
        assert field in caught.value.message_dict
    assert not Assessment.objects.exists()


def test_the_message_is_in_the_users_language(personas, world):
    personas.partner.language = "de"
    personas.partner.save(update_fields=["language"])
    response = _post_assessment(personas.client(personas.partner), world.case)
    assert response.status_code == 422
    assert "Wählen Sie auf mindestens einer Dimension eine Stufe." in response.content.decode()


def test_the_police_never_read_a_counselling_assessment_by_scope(personas, world):
    _assess(personas, world, disengagement=1)
    police = personas.client(personas.police)
    page = whole_case_page(police, world.case.pk)
    assert RATIONALE not in page and "Ambivalent about violence" not in page
    api = police.get(f"/api/v1/cases/{world.case.pk}/outcomes").json()
    assert api["assessments"] == []
    entries = police.get(f"/api/v1/cases/{world.case.pk}/entries").content.decode()
    assert RATIONALE not in entries
    # and they may not write one either (no counselling write scope)
    response = police.post(
        f"/api/v1/cases/{world.case.pk}/assessments",
        {"occasion": "intake", "ratings": [{"dimension": "housing", "level": 1}], "rationale": "x"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert Assessment.objects.count() == 1


def test_a_disclosed_assessment_reaches_the_police_with_its_levels(personas, world):
    from casebridge.sharing import services as sharing

    assessment = _assess(personas, world, disengagement=1)
    disclosure = sharing.disclosure_request(
        actor=personas.partner,
        case=world.case,
        to_participant=world.police,
        entries=[assessment.entry],
        purpose="Gefahrenabwehr",
        legal_basis=term("legal_basis", "justifying_emergency"),
        justification="Gefahr im Verzug.",
    )
    colleague = make_user("colleague", org(personas.partner), "partner_counsellor")
    world.lead.members.add(colleague)
    sharing.disclosure_decide(actor=colleague, disclosure=disclosure, approve=True)
    api = personas.client(personas.police).get(f"/api/v1/cases/{world.case.pk}/outcomes").json()
    assert [a["rationale"] for a in api["assessments"]] == [RATIONALE]
    assert api["assessments"][0]["ratings"] == [
        {"dimension": "disengagement", "level": 1, "label": "Ambivalent about violence"}
    ]


def test_an_assessment_is_never_a_plain_entry(personas, world):
    response = personas.client(personas.partner).post(
        f"/api/v1/cases/{world.case.pk}/entries",
        {"kind": "assessment", "category": "counselling", "title": "t", "text": "x"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "section Outcomes" in response.json()["fields"]["kind"][0]
    assert not Entry.objects.filter(kind="assessment").exists()


def test_the_audit_names_the_assessment_without_its_content(personas, world):
    assessment = _assess(personas, world, disengagement=1)
    event = AuditEvent.objects.filter(action="outcomes.assessment.record").latest("id")
    assert event.object_id == str(assessment.pk)
    assert event.details["dimensions"] == 1
    assert RATIONALE not in str(event.details)


def test_a_closed_case_takes_a_closure_assessment_but_no_intake(personas, world):
    from django.core.exceptions import ValidationError

    _close(personas, world)
    world.case.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        _assess(personas, world, occasion="intake", disengagement=1)
    assert "occasion" in caught.value.message_dict
    _assess(personas, world, occasion="closure", disengagement=2)
    assert Assessment.objects.get().occasion == "closure"


# --- follow-up ---------------------------------------------------------------------------


def test_follow_ups_are_planned_only_once_the_case_is_closed(personas, world):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        services.follow_up_plan(actor=personas.partner, case=world.case, consent=True, note="ja")
    assert "case" in caught.value.message_dict
    assert not FollowUpConsent.objects.exists()


def test_with_consent_the_follow_ups_are_scheduled_at_the_models_months(personas, world):
    _close(personas, world)
    client = personas.client(personas.partner)
    response = client.post(
        reverse("outcomes:plan", args=[world.case.pk]),
        {"follow-plan-consent": "yes", "follow-plan-note": "Im Abschlussgespräch gefragt: ja."},
    )
    assert response.status_code == 302
    closed_on = timezone.localtime(world.case.closed_at).date()
    assert [f.due_on for f in FollowUp.objects.filter(case=world.case)] == [
        add_months(closed_on, 6),
        add_months(closed_on, 12),
    ]
    page = _section(client, world.case)
    assert "The person agreed to be contacted after the closure." in page


def test_without_consent_nothing_is_scheduled_and_nobody_is_contacted(personas, world):
    from django.core.exceptions import ValidationError

    _close(personas, world)
    services.follow_up_plan(actor=personas.partner, case=world.case, consent=False, note="nein")
    assert not FollowUp.objects.exists()
    with pytest.raises(ValidationError) as caught:
        services.follow_up_add(
            actor=personas.partner,
            case=world.case,
            due_on=timezone.localdate() + timedelta(days=30),
        )
    assert "consent" in caught.value.message_dict
    response = personas.client(personas.partner).post(
        f"/api/v1/cases/{world.case.pk}/follow-ups",
        {"due_on": (timezone.localdate() + timedelta(days=30)).isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "nobody may contact them" in response.content.decode()
    assert not FollowUp.objects.exists()
    # asked once: a second answer is refused, the first stands
    with pytest.raises(ValidationError):
        services.follow_up_plan(actor=personas.partner, case=world.case, consent=True, note="doch")
    assert FollowUpConsent.objects.get().given is False


def test_only_the_lead_plans_follow_ups(personas, world):
    _close(personas, world)
    response = personas.client(personas.police).post(
        f"/api/v1/cases/{world.case.pk}/follow-up/consent",
        {"consent": True, "note": "ja"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not FollowUpConsent.objects.exists()


def _due_follow_up(personas, world) -> FollowUp:
    _close(personas, world)
    services.follow_up_plan(actor=personas.partner, case=world.case, consent=True, note="ja")
    follow_up = FollowUp.objects.filter(case=world.case).first()
    follow_up.due_on = timezone.localdate()
    follow_up.save(update_fields=["due_on"])
    return follow_up


def test_a_follow_up_result_is_recorded_on_the_same_scales(personas, world):
    follow_up = _due_follow_up(personas, world)
    client = personas.client(personas.partner)
    prefix = f"follow-{follow_up.pk}"
    response = client.post(
        reverse("outcomes:result", args=[world.case.pk, follow_up.pk]),
        {
            f"{prefix}-reached": "yes",
            f"{prefix}-level_disengagement": "3",
            f"{prefix}-rationale": RATIONALE,
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    follow_up.refresh_from_db()
    assert follow_up.status == "done"
    assessment = Assessment.objects.get(follow_up=follow_up)
    assert assessment.occasion == "follow_up"
    assert assessment.ratings.get().level == 3


def test_a_person_not_reached_is_recorded_without_a_judgement(personas, world):
    follow_up = _due_follow_up(personas, world)
    services.follow_up_result(actor=personas.partner, follow_up=follow_up, reached=False)
    follow_up.refresh_from_db()
    assert follow_up.status == "not_reached"
    assert not Assessment.objects.exists()


def test_a_follow_up_not_yet_due_or_done_takes_no_result(personas, world):
    from django.core.exceptions import ValidationError

    follow_up = _due_follow_up(personas, world)
    later = FollowUp.objects.filter(case=world.case).exclude(pk=follow_up.pk).get()
    with pytest.raises(ValidationError):
        services.follow_up_result(actor=personas.partner, follow_up=later, reached=False)
    services.follow_up_result(actor=personas.partner, follow_up=follow_up, reached=False)
    with pytest.raises(ValidationError):
        services.follow_up_result(actor=personas.partner, follow_up=follow_up, reached=False)


def test_withdrawn_consent_cancels_the_follow_ups_and_their_results(personas, world):
    from django.core.exceptions import ValidationError

    follow_up = _due_follow_up(personas, world)
    response = personas.client(personas.partner).post(
        f"/api/v1/cases/{world.case.pk}/follow-up/withdrawal", content_type="application/json"
    )
    assert response.status_code == 200
    assert set(FollowUp.objects.values_list("status", flat=True)) == {"cancelled"}
    with pytest.raises(ValidationError):
        services.follow_up_result(
            actor=personas.partner,
            follow_up=follow_up,
            reached=True,
            ratings=[RatingIn("disengagement", 3)],
            rationale=RATIONALE,
        )
    assert not Assessment.objects.exists()


def test_the_worker_reminds_the_lead_once_a_week_ahead_never_without_consent(personas, world):
    follow_up = _due_follow_up(personas, world)
    later = FollowUp.objects.exclude(pk=follow_up.pk).get()
    mail.outbox.clear()
    assert remind_follow_ups.call() == 1
    assert remind_follow_ups.call() == 0  # once
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert world.case.number in message.subject
    assert world.case.pseudonym not in message.body and "Ali" not in message.body
    assert message.to == [personas.partner.email]
    later.refresh_from_db()
    assert later.reminded_at is None  # due in months
    # the person withdraws: the later one is never reminded, even when it would be due
    services.follow_up_withdraw(actor=personas.partner, case=world.case)
    FollowUp.objects.filter(pk=later.pk).update(status="planned", due_on=timezone.localdate())
    assert remind_follow_ups.call() == 0
    assert AuditEvent.objects.filter(action="outcomes.follow_up.remind").count() == 1


def test_the_follow_up_section_is_hidden_from_seats_without_coordination(personas, world):
    from casebridge.outcomes.selectors import case_follow_ups

    _due_follow_up(personas, world)
    assert case_follow_ups(personas.partner, world.case) is not None
    assert case_follow_ups(personas.outsider, world.case) is None


# --- goals from templates ----------------------------------------------------------------


def test_a_goal_is_taken_from_a_template_in_the_page_and_the_api(personas, world):
    client = personas.client(personas.partner)
    response = client.post(
        reverse("cases:goal_add", args=[world.case.pk]), {"goal-template": "secure_housing"}
    )
    assert response.status_code == 302
    goal = Goal.objects.get(case=world.case)
    assert (goal.template.code, goal.horizon, goal.title) == (
        "secure_housing",
        "interim",
        "Find secure housing",
    )
    response = client.post(
        f"/api/v1/cases/{world.case.pk}/goals",
        {"template": "rejects_violence", "title": "Gewalt stabil ablehnen"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["template"] == "rejects_violence"
    assert response.json()["horizon"] == "long_term"


def test_an_unknown_template_or_no_title_is_refused(personas, world):
    client = personas.client(personas.partner)
    response = client.post(
        f"/api/v1/cases/{world.case.pk}/goals",
        {"template": "world_peace"},
        content_type="application/json",
    )
    assert response.status_code == 422 and "template" in response.content.decode()
    response = client.post(reverse("cases:goal_add", args=[world.case.pk]), {"goal-horizon": ""})
    assert response.status_code == 422
    assert not Goal.objects.exists()


# --- bad model files ---------------------------------------------------------------------

DIMENSION = """
[[outcome_dimensions]]
code = "disengagement"
group = "radicalisation"
category = "counselling"
headline = true
label = { en = "Disengagement", de = "Abstand von Gewalt" }
levels = [{ en = "Endorses", de = "Befürwortet" }, { en = "Rejects", de = "Lehnt ab" }]

[[goal_templates]]
code = "rejects"
dimension = "disengagement"
horizon = "long_term"
label = { en = "Reject violence", de = "Gewalt ablehnen" }
"""


def test_a_model_with_dimensions_and_templates_parses(tmp_path):
    from casebridge.cooperation_models.schema import parse_model
    from tests.model_files import VALID, write_model

    spec = parse_model(str(write_model(tmp_path, VALID + DIMENSION)))
    assert [d.code for d in spec.entries("outcome_dimensions")] == ["disengagement"]


@pytest.mark.parametrize(
    ("breaker", "message"),
    [
        (
            lambda t: t.replace('dimension = "disengagement"', 'dimension = "mood"'),
            'mini.toml: [[goal_templates]] 1 ("rejects"): key dimension: '
            'outcome dimension "mood" is not known',
        ),
        (
            lambda t: t.replace('category = "counselling"', 'category = "gossip"'),
            'mini.toml: [[outcome_dimensions]] 1 ("disengagement"): key category: '
            'information category "gossip" is not known',
        ),
        (
            lambda t: t.replace('{ en = "Rejects", de = "Lehnt ab" }', '{ en = "Rejects" }'),
            'mini.toml: [[outcome_dimensions]] 1 ("disengagement"): key levels.1: '
            'has no text for language "de"',
        ),
        (
            lambda t: t.replace(
                'levels = [{ en = "Endorses", de = "Befürwortet" }, ', "levels = ["
            ),
            'mini.toml: [[outcome_dimensions]] 1 ("disengagement"): key levels: '
            "must have at least 2 entries",
        ),
        (
            lambda t: (
                t
                + t[t.index("[[outcome_dimensions]]") : t.index("[[goal_templates]]")].replace(
                    '"disengagement"', '"disengagement2"'
                )
            ),
            'mini.toml: [[outcome_dimensions]] 2 ("disengagement2"): key headline: '
            "only one dimension may be the headline",
        ),
        (
            lambda t: t.replace('horizon = "long_term"', 'horizon = "someday"'),
            'mini.toml: [[goal_templates]] 1 ("rejects"): key horizon: must be one of',
        ),
    ],
    ids=[
        "unknown dimension",
        "unknown category",
        "level text",
        "one level",
        "two headlines",
        "horizon",
    ],
)
def test_a_bad_outcome_table_names_the_place(tmp_path, breaker, message):
    from tests.model_files import VALID, errors_of, write_model

    broken = breaker(VALID + DIMENSION)
    assert broken != VALID + DIMENSION
    errors = errors_of(write_model(tmp_path, broken))
    assert any(error.startswith(message) for error in errors), errors
