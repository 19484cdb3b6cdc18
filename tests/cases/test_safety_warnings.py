"""Staff-safety warnings (issue 17.6): set by any participant who works on the case (the
police liaison too) with a reason and a review date; every participant sees the precaution
on every section of the case page and in the API, whatever their scope; the reason only
the organisation that set it and the lead; they review or end it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from casebridge.audit.models import AuditEvent
from casebridge.cases import services
from casebridge.cases.models import SafetyWarning
from tests.builders import whole_case_page

pytestmark = pytest.mark.django_db

REASON = "Hat im Gespräch mit Gewalt gedroht"
IN_A_MONTH = timezone.localdate() + timedelta(days=30)


def police_warn(personas, world, **changes) -> SafetyWarning:
    values = {
        "actor": personas.police,
        "case": world.case,
        "kind": "do_not_meet_alone",
        "note": "Termine nur zu zweit.",
        "reason": REASON,
        "review_on": IN_A_MONTH,
    }
    values.update(changes)
    return services.safety_warning_set(**values)


def form(**overrides) -> dict:
    data = {
        "warning-kind": "do_not_meet_alone",
        "warning-note": "Termine nur zu zweit.",
        "warning-reason": REASON,
        "warning-review_on": IN_A_MONTH.isoformat(),
    }
    data.update(overrides)
    return data


def test_the_police_warn_and_every_participant_sees_the_precaution_on_every_section(
    personas, world
):
    response = personas.client(personas.police).post(
        reverse("cases:warning_add", args=[world.case.pk]), form()
    )
    assert response.status_code == 302 and response["Location"].endswith("?section=people")
    warning = SafetyWarning.objects.get()
    assert warning.participant == world.police
    event = AuditEvent.objects.get(action="cases.warning.set")
    assert REASON not in json.dumps(event.details)  # the reason stays out of the log
    lead = personas.client(personas.partner)
    base = reverse("cases:case", args=[world.case.pk])
    for section in ("", "people", "procedure", "goals", "conferences", "closing"):
        page = lead.get(base, {"section": section} if section else {}).content.decode()
        assert 'id="safety-warnings"' in page and "Termine nur zu zweit." in page, section
    # the lead reads the reason; a participant of another organisation would not
    assert REASON in lead.get(base).content.decode()
    api = lead.get(f"/api/v1/cases/{world.case.pk}").json()
    assert [(w["kind"], w["reason"]) for w in api["warnings"]] == [("do_not_meet_alone", REASON)]


def test_the_reason_stays_with_the_setter_and_the_lead(personas, world):
    services.safety_warning_set(
        actor=personas.partner,
        case=world.case,
        kind="office_only",
        note="",
        reason=REASON,
        review_on=IN_A_MONTH,
    )
    police = personas.client(personas.police)
    page = whole_case_page(police, world.case.pk)
    assert "Meet the person only at the office" in page
    assert REASON not in page
    api = police.get(f"/api/v1/cases/{world.case.pk}").json()
    assert api["warnings"][0]["reason"] is None
    # the police may neither review nor end the lead's warning (page hides it; API says 403)
    warning = SafetyWarning.objects.get()
    end = f"/api/v1/cases/{world.case.pk}/warnings/{warning.pk}/end"
    assert police.post(end).status_code == 403
    page_end = police.post(reverse("cases:warning_end", args=[world.case.pk, warning.pk]))
    assert page_end.status_code == 404
    warning.refresh_from_db()
    assert warning.ended_at is None


def test_review_and_end_by_the_setter(personas, world):
    warning = police_warn(personas, world)
    police = personas.client(personas.police)
    later = timezone.localdate() + timedelta(days=60)
    police.post(
        reverse("cases:warning_review", args=[world.case.pk, warning.pk]),
        {"review_on": later.isoformat()},
    )
    warning.refresh_from_db()
    assert warning.review_on == later
    bad = police.post(
        reverse("cases:warning_review", args=[world.case.pk, warning.pk]),
        {"review_on": "2026-02-30"},
        follow=True,
    )
    assert "Choose a review date between" in bad.content.decode()
    warning.refresh_from_db()
    assert warning.review_on == later
    police.post(reverse("cases:warning_end", args=[world.case.pk, warning.pk]))
    warning.refresh_from_db()
    assert warning.ended_at is not None and warning.ended_by == personas.police
    assert 'id="safety-warnings"' not in whole_case_page(
        personas.client(personas.partner), world.case.pk
    )
    assert (
        personas.client(personas.partner).get(f"/api/v1/cases/{world.case.pk}").json()["warnings"]
        == []
    )


def test_a_review_date_that_has_come_is_marked(personas, world):
    warning = police_warn(personas, world)
    SafetyWarning.objects.filter(pk=warning.pk).update(review_on=timezone.localdate())
    page = personas.client(personas.partner).get(reverse("cases:case", args=[world.case.pk]))
    assert "review due" in page.content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("warning-reason", "", "This field is required."),
        ("warning-kind", "bring_a_dog", "Select a valid choice."),
        # days from today, reckoned when the test runs (a run may pass midnight)
        ("warning-review_on", "today+0", "Choose a review date between"),
        ("warning-review_on", "today+184", "Choose a review date between"),
        ("warning-note", "x" * 201, "at most 200 characters"),
        ("warning-kind", "other", "Describe the precaution in the note."),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(personas, world, field, value, message):
    if value.startswith("today+"):
        value = (timezone.localdate() + timedelta(days=int(value[6:]))).isoformat()
    data = form(**{field: value})
    if value == "other":
        data["warning-note"] = ""
    response = personas.client(personas.police).post(
        reverse("cases:warning_add", args=[world.case.pk]), data
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="form-errors"' in body and message in body
    assert not SafetyWarning.objects.exists()


def test_one_day_inside_each_limit_is_accepted(personas, world):
    for days in (1, 183):
        police_warn(personas, world, review_on=timezone.localdate() + timedelta(days=days))
    assert SafetyWarning.objects.count() == 2


def test_outsiders_see_no_warning(personas, world):
    police_warn(personas, world)
    for persona in ("partner_other", "hotline", "outsider"):
        client = personas.client(getattr(personas, persona))
        assert client.get(f"/api/v1/cases/{world.case.pk}").status_code == 404
        assert client.get(reverse("cases:case", args=[world.case.pk])).status_code == 404
