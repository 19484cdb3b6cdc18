"""The data protection officer's audit log and a case's access history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from casebridge.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_dpo_filters_the_log_by_user_and_exports_it(personas, world):
    client = personas.client(personas.dpo)
    page = client.post(reverse("audit:log"), {"username": "partner", "action": "cases."})
    assert page.status_code == 200
    events = list(page.context["events"])
    assert events and all(
        e.actor_label == "partner" and e.action.startswith("cases.") for e in events
    )
    export = client.post(reverse("audit:log"), {"username": "partner", "export": "csv"})
    text = b"".join(export.streaming_content).decode()
    assert text.splitlines()[0].startswith("sequence,prev_hash,hash,occurred_at,actor_id")
    assert "Vertrauliche" not in text and "Beispiel" not in text
    assert AuditEvent.objects.filter(action="audit.log.view", actor=personas.dpo).exists()


@pytest.mark.parametrize("persona", ["partner", "police", "coordinator", "admin", "hotline"])
def test_only_the_dpo_reads_the_log(personas, persona):
    assert personas.client(getattr(personas, persona)).get(reverse("audit:log")).status_code == 404


def test_case_access_history_for_the_lead_only(personas, world):
    personas.client(personas.police).get(reverse("cases:case", args=[world.case.pk]))
    response = personas.client(personas.partner).get(
        reverse("cases:access_history", args=[world.case.pk])
    )
    assert response.status_code == 200
    assert any(e.actor_label == "police" for e in response.context["events"])
    police = personas.client(personas.police).get(
        reverse("cases:access_history", args=[world.case.pk])
    )
    assert police.status_code == 404
