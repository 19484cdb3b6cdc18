"""What a hotline counsellor sends: the intake form's fields and the API's contact body."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone


def intake_data(**overrides) -> dict:
    started = timezone.localtime() - timedelta(minutes=12)
    data = {
        "channel": "phone",
        "started_at": started.strftime("%Y-%m-%dT%H:%M"),
        "language": "de",
        "caller_category": "parents_relatives",
        "caller_relation": "mother",
        "caller_postcode": "20095",
        "anonymous": "on",
        "person_age_band": "14_17",
        "person_gender": "male",
        "concern_topics": ["changed_behaviour", "withdrawal_from_family"],
        "summary": "Sohn zieht sich zurück.",
        "advice": "Im Gespräch bleiben.",
        "contact_category": "clarification_needed",
        "next_steps": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def contact_body(**overrides) -> dict:
    body = {
        "started_at": (timezone.now() - timedelta(minutes=10)).isoformat(),
        "caller_category": "parents_relatives",
        "contact_category": "clarification_needed",
        "caller_postcode": "20095",
        "concern_topics": ["changed_behaviour"],
    }
    body.update(overrides)
    return body


def post(client, url, body):
    return client.post(url, body, content_type="application/json")
