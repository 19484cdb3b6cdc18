"""Documents to upload in the tests of documents at rest (tests/privacy): sizes around the
encryption's segments, each with a marker to look for, and the two ways to upload."""

from __future__ import annotations

import os

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from casebridge.cases.models import Entry
from casebridge.crypto.files import SEGMENT


def marker() -> bytes:
    return b"MARKER-" + os.urandom(12).hex().encode()


def documents() -> list[tuple[str, bytes, bytes]]:
    """(upload name, content, marker): small, across a segment boundary, several segments."""
    made = []
    for size in (100, SEGMENT + 50, 5 * SEGMENT + 3):
        mark = marker()
        place = min(SEGMENT - 10, size - len(mark))  # across the first boundary when it can
        body = bytearray(os.urandom(size))
        body[place : place + len(mark)] = mark
        made.append((f"Gutachten {marker().decode()}.pdf", bytes(body), mark))
    return made


def upload_by_page(client, case, name: str, body: bytes) -> Entry:
    response = client.post(
        reverse("cases:entry_add", args=[case.pk]),
        {
            "entry-kind": "document",
            "entry-category": "counselling",
            "entry-title": "Gutachten",
            "entry-document": SimpleUploadedFile(name, body),
        },
    )
    assert response.status_code == 302, response.content[:500]
    return Entry.objects.filter(case=case, kind="document").latest("pk")


def upload_by_api(client, case, name: str, body: bytes) -> Entry:
    response = client.post(
        f"/api/v1/cases/{case.pk}/documents",
        {"category": "counselling", "title": "Gutachten", "file": SimpleUploadedFile(name, body)},
    )
    assert response.status_code == 201, response.content[:500]
    return Entry.objects.get(pk=response.json()["id"])
