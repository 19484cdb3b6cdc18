"""Lessons learned: a structured form, tags, search by POST, anonymous by construction."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.urls import reverse

from casebridge.audit.models import AuditEvent
from casebridge.network.models import Lesson
from casebridge.network.services import identifying_references

pytestmark = pytest.mark.django_db

GOOD = {
    "title": "A handover over the summer break failed",
    "outcome": "failed",
    "what_happened": "The school's contact left in July; nobody told the counselling centre.",
    "what_we_learned": "A contact point without a deputy is a single point of failure.",
    "what_we_change": "Every school names a deputy; coordinators check the gaps each month.",
    "tags": "handover, school, Contact Points",
}


def test_write_and_read_a_lesson(personas):
    client = personas.client(personas.partner)
    response = client.post(reverse("network:lesson_create"), GOOD)
    assert response.status_code == 302
    lesson = Lesson.objects.get()
    assert sorted(t.name for t in lesson.tags.all()) == ["contact-points", "handover", "school"]
    page = personas.client(personas.police).get(reverse("network:lesson", args=[lesson.pk]))
    body = page.content.decode()
    assert "single point of failure" in body
    assert "Partner Persona" not in body  # anonymous unless the author asks otherwise
    event = AuditEvent.objects.get(action="network.lesson.create")
    assert event.details == {"outcome": "failed", "tags": 3}


@pytest.mark.parametrize(
    ("field", "text", "what"),
    [
        ("what_happened", "In case HH-2026-0042 the school was not told.", "case number"),
        ("what_we_learned", "Ask HL-2026-00017 again.", "contact reference"),
        ("what_we_change", "Call 040 1234 5678 first.", "phone number"),
        ("title", "Mail jonas.k@example.org", "e-mail address"),
    ],
)
def test_texts_that_point_to_a_case_or_person_are_refused(personas, field, text, what):
    client = personas.client(personas.partner)
    response = client.post(reverse("network:lesson_create"), {**GOOD, field: text})
    assert response.status_code == 422
    errors = response.context["form"].errors[field]
    assert what in errors[0] and "anonymous" in errors[0]
    assert not Lesson.objects.exists()
    assert not AuditEvent.objects.filter(action="network.lesson.create").exists()


def test_years_and_counts_are_not_mistaken_for_phone_numbers():
    assert identifying_references("Between 2019 and 2021, 3 of 12 schools, 2019 2020 2021") == []


def test_no_lesson_can_link_to_a_case_contact_or_person_record():
    for model in (apps.get_model("network", "Lesson"), apps.get_model("network", "LessonTag")):
        for field in model._meta.get_fields():
            target = getattr(field, "related_model", None)
            if target is None:
                continue
            assert target._meta.app_label not in {"cases", "hotline", "sharing"}, field


def test_search_by_post_tag_and_outcome(personas):
    client = personas.client(personas.partner)
    client.post(reverse("network:lesson_create"), GOOD)
    client.post(
        reverse("network:lesson_create"),
        {
            **GOOD,
            "title": "Joint conference worked",
            "outcome": "went_well",
            "what_happened": "Police and counselling prepared the conference together.",
            "what_we_learned": "Preparing together builds trust.",
            "what_we_change": "Every conference gets a joint preparation call.",
            "tags": "conference",
        },
    )
    url = reverse("network:lessons")
    found = client.post(url, {"q": "deputy"})
    assert [lesson.title for lesson in found.context["page"]] == [
        "A handover over the summer break failed"
    ]
    # A free-text query in the URL is ignored: searching is by POST only.
    assert len(client.get(url, {"q": "deputy"}).context["page"]) == 2
    assert [lesson.title for lesson in client.get(url, {"tag": "conference"}).context["page"]] == [
        "Joint conference worked"
    ]
    assert [lesson.title for lesson in client.get(url, {"outcome": "failed"}).context["page"]] == [
        "A handover over the summer break failed"
    ]
    assert ("handover", 1) in client.get(url).context["tags"]
    assert personas.client(personas.outsider).get(url).status_code == 403


def test_lessons_through_the_api(personas):
    client = personas.client(personas.police)
    created = client.post(
        "/api/v1/lessons",
        {
            "title": "Late information",
            "outcome": "mixed",
            "what_happened": "The release date reached us late.",
            "what_we_learned": "Prisons need the counselling contact early.",
            "what_we_change": "We ask at intake.",
            "tags": ["release"],
            "show_author": True,
        },
        content_type="application/json",
    )
    assert created.status_code == 201
    assert created.json()["author"] == "police"
    refused = client.post(
        "/api/v1/lessons",
        {**created.json(), "what_happened": "See BE-2026-0001", "tags": []},
        content_type="application/json",
    )
    assert refused.status_code == 422
    assert list(refused.json()["fields"]) == ["what_happened"]
    found = client.post("/api/v1/lessons/search", {"q": "release"}, content_type="application/json")
    assert [item["title"] for item in found.json()["items"]] == ["Late information"]
    assert client.get("/api/v1/lessons", {"tag": "nothing"}).json()["items"] == []
