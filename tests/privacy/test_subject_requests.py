# ruff: noqa: E501 - the persona matrix is a table and reads best unwrapped
"""Data subject requests through the pages and the API: find, export, review, release, erase."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count

from casebridge.audit.models import AuditEvent
from casebridge.audit.services import audit_verify
from casebridge.cases import services as case_services
from casebridge.cases.models import Case, Entry, RelatedPerson
from casebridge.cooperation_models.models import Term
from casebridge.crypto.files import SEGMENT, private_storage
from casebridge.hotline.models import Contact
from casebridge.privacy import services
from casebridge.privacy.models import SubjectRequest
from tests.matrix import assert_matrix_covers, matrix_params

IDENTITY = {"first_name": "Ali", "last_name": "Beispiel", "date_of_birth": "2008-03-01"}


@pytest.fixture
def mother(world, personas):
    """Ali's mother: a related person in Ali's case and, separately, a caller."""
    return case_services.related_person_add(
        actor=personas.partner,
        case=world.case,
        relation=Term.objects.of("caller_relation").first(),
        name="Maria Beispiel",
        phone="040 000002",
    )


@pytest.fixture
def report(world, personas):
    """A counselling report about Ali, larger than one segment, with a marker inside."""
    marker = b"ALI-REPORT-" + os.urandom(8).hex().encode()
    body = os.urandom(SEGMENT - 20) + marker + os.urandom(SEGMENT)
    entry = case_services.entry_create(
        actor=personas.partner,
        case=world.case,
        data=case_services.EntryData(
            kind="document",
            category=Term.objects.get(kind="information_category", code="counselling"),
            title="Beratungsbericht",
            document=SimpleUploadedFile("Bericht Ali Beispiel.pdf", body),
        ),
    )
    return entry, body, marker


def _bundle(content: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(content))


@pytest.fixture
def ali_calls(make_contact):
    return make_contact(
        anonymous=False,
        caller_name="Beispiel Ali",
        caller_phone="040 000003",
        summary="Ali ruft selbst an.",
    )


def _create(client, kind="access", article="art15"):
    response = client.post(
        "/privacy/requests/", {"kind": kind, "article": article, "requester_note": "Brief vom 1.3."}
    )
    assert response.status_code == 302, response.content[:500]
    return SubjectRequest.objects.latest("pk")


def test_dpo_finds_the_person_by_name_and_birth_date_through_post(
    world, mother, ali_calls, personas
):
    client = personas.client(personas.dpo)
    item = _create(client)
    assert item.reference.startswith("SR-") and item.due_on > item.received_on

    response = client.post(f"/privacy/requests/{item.pk}/search/", IDENTITY)

    assert response.status_code == 200
    page = response.content.decode()
    assert world.case.number in page and ali_calls.reference in page
    keys = {m.key for m in response.context["matches"]}
    assert keys == {f"cases:{world.case.pk}", f"contacts:{ali_calls.pk}"}
    assert "Beispiel" not in page.split("Records found")[1]  # results show numbers, not names
    assert client.get(f"/privacy/requests/{item.pk}/search/").status_code == 405
    event = AuditEvent.objects.filter(action="privacy.subject.search").latest("id")
    assert event.purpose == f"subject request {item.reference}"
    assert "Ali" not in json.dumps(event.details)


def test_a_related_person_is_found_by_name_and_a_case_by_number(world, mother, personas):
    client = personas.client(personas.dpo)
    item = _create(client)
    by_name = client.post(
        f"/privacy/requests/{item.pk}/search/", {"first_name": "maria", "last_name": "BEISPIEL"}
    )
    assert {m.key for m in by_name.context["matches"]} == {f"related_people:{mother.pk}"}
    by_number = client.post(
        f"/privacy/requests/{item.pk}/search/", {"case_number": world.case.number}
    )
    assert {m.basis for m in by_number.context["matches"]} == {"case_number"}
    empty = client.post(f"/privacy/requests/{item.pk}/search/", {"first_name": "Ali"})
    assert empty.status_code == 422
    assert "Enter first and last name" in empty.content.decode()


def test_access_request_from_search_to_released_download(
    world, mother, ali_calls, report, personas
):
    entry, body, _marker = report
    client = personas.client(personas.dpo)
    item = _create(client)
    base = f"/privacy/requests/{item.pk}"
    assert client.get(f"{base}/export/?format=json").status_code == 409
    assert client.get(f"{base}/export/?format=zip").status_code == 409
    assert client.post(f"{base}/prepare/").status_code == 422  # nothing attached yet
    client.post(
        f"{base}/attach/", {"subjects": [f"cases:{world.case.pk}", f"contacts:{ali_calls.pk}"]}
    )
    assert client.post(f"{base}/prepare/").status_code == 302
    item.refresh_from_db()
    assert item.status == "prepared" and len(item.export_digest) == 64

    review = client.get(f"{base}/export/")
    assert review.status_code == 200
    page = review.content.decode()
    assert "Ali" in page and "Vertrauliche Beratung" in page and "Ali ruft selbst an." in page
    assert "Maria" not in page  # a related person is a third party: relation only
    assert "Bericht Ali Beispiel.pdf" in page  # the document, listed for review
    assert client.get(f"{base}/export/?format=json").status_code == 409  # not released yet
    # The officer reviews the documents too: the bundle opens for review before release.
    for_review = client.get(f"{base}/export/?format=zip")
    assert for_review.status_code == 200
    with _bundle(b"".join(for_review.streaming_content)) as bundle:
        assert bundle.read(f"documents/{entry.pk}-Bericht_Ali_Beispiel.pdf") == body
    assert AuditEvent.objects.filter(action="privacy.subject_request.download").count() == 0

    assert client.post(f"{base}/release/").status_code == 422  # review first
    client.post(f"{base}/review/")
    client.post(f"{base}/release/")
    download = client.get(f"{base}/export/?format=json")
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="{item.reference}.json"'
    data = json.loads(download.content)
    copy = client.get(f"{base}/export/?format=zip")
    assert copy["Content-Type"] == "application/zip"
    assert copy["Content-Disposition"] == f'attachment; filename="{item.reference}.zip"'
    content = b"".join(copy.streaming_content)
    assert int(copy["Content-Length"]) == len(content)
    # The bundle is what was reviewed, byte for byte: its SHA-256 is the recorded one.
    assert hashlib.sha256(content).hexdigest() == item.export_digest
    with _bundle(content) as bundle:
        assert json.loads(bundle.read("export.json")) == data
        (document,) = [e["document"] for e in data["cases"][0]["entries"] if e["document"]]
        assert document == {
            "name": "Bericht Ali Beispiel.pdf",
            "file": f"documents/{entry.pk}-Bericht_Ali_Beispiel.pdf",
            "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        assert bundle.read(document["file"]) == body
        assert sorted(bundle.namelist()) == sorted(["export.json", document["file"]])
    case = data["cases"][0]
    assert case["identity"]["first_name"] == "Ali"
    assert {e["category"] for e in case["entries"]} == {
        "counselling",
        "security",
        "case_coordination",
        "risk_assessment",
    }
    assert case["related_people"] == [{"relation": mother.relation.code}]
    assert data["contacts"][0]["identity"]["name"] == "Beispiel Ali"
    assert {e["action"] for e in data["audit_events"]} >= {"cases.case.open", "cases.entry.create"}
    assert "partner" not in {e.get("actor") for e in data["audit_events"]}
    assert "actor" not in data["audit_events"][0]

    reads = AuditEvent.objects.filter(action="privacy.subject.read")
    assert {(e.object_type, e.object_id) for e in reads} == {
        ("cases.case", str(world.case.pk)),
        ("hotline.contact", str(ali_calls.pk)),
    }
    assert {e.purpose for e in reads} == {f"subject request {item.reference}"}
    assert reads.get(object_type="cases.case").details["documents"] == 1
    assert AuditEvent.objects.filter(action="privacy.subject_request.download").count() == 2

    stored = item.export_file.name
    assert private_storage().exists(stored)
    client.post(f"{base}/close/")
    item.refresh_from_db()
    assert item.status == "closed" and item.export == "" and item.export_digest
    assert not item.export_file and not private_storage().exists(stored)


def test_export_of_a_related_person_holds_their_record_only(world, mother, personas):
    item = services.subject_request_create(actor=personas.dpo, kind="access", article="art15")
    services.subject_request_attach(
        actor=personas.dpo, request=item, keys=[f"related_people:{mother.pk}"]
    )
    services.subject_request_prepare(actor=personas.dpo, request=item)
    data = json.loads(item.export)
    assert data["related_people"] == [
        {
            "case": world.case.number,
            "relation": mother.relation.code,
            "name": "Maria Beispiel",
            "phone": "040 000002",
            "note": "",
        }
    ]
    assert data["cases"] == [] and "Ali" not in item.export


def test_the_export_is_stored_encrypted(world, report, personas):
    from django.db import connection

    entry, _body, marker = report
    item = services.subject_request_create(actor=personas.dpo, kind="access", article="art15")
    services.subject_request_attach(
        actor=personas.dpo, request=item, keys=[f"cases:{world.case.pk}"]
    )
    services.subject_request_prepare(actor=personas.dpo, request=item)
    with connection.cursor() as cursor:
        cursor.execute("SELECT export FROM privacy_subjectrequest WHERE id = %s", [item.pk])
        raw = cursor.fetchone()[0]
    assert raw.startswith("cbenc1:") and "Beispiel" not in raw
    # The bundle holds the document decrypted, and is itself stored encrypted.
    # as stored: a file in DATA_DIR/private or pieces in the database (DOCUMENT_STORAGE)
    on_disk = b"".join(private_storage().stored_bytes(item.export_file.name))
    assert on_disk.startswith(b"cbdoc\x01")
    assert not [
        marker[i : i + 16] for i in range(len(marker) - 15) if marker[i : i + 16] in on_disk
    ]
    assert b"Beispiel" not in on_disk and b"export.json" not in on_disk
    with item.export_file.open() as bundle, zipfile.ZipFile(bundle) as archive:
        assert marker in archive.read(f"documents/{entry.pk}-Bericht_Ali_Beispiel.pdf")


def _statistics():
    return {
        "cases": list(
            Case.objects.values("status", "phase", "closing_reason", "owner")
            .annotate(n=Count("pk"))
            .order_by("status", "phase")
        ),
        "entries": list(
            Entry.objects.values("category__code", "kind")
            .annotate(n=Count("pk"))
            .order_by("category__code", "kind")
        ),
        "contacts": list(
            Contact.objects.values("caller_category", "contact_category", "person_region")
            .annotate(n=Count("pk"))
            .order_by("caller_category")
        ),
        "related": list(RelatedPerson.objects.values("relation").annotate(n=Count("pk"))),
    }


def test_erasure_keeps_statistics_and_the_audit_chain_verifiable(
    world, mother, ali_calls, report, personas
):
    client = personas.client(personas.dpo)
    item = _create(client, kind="erasure", article="art17")
    base = f"/privacy/requests/{item.pk}"
    client.post(
        f"{base}/attach/",
        {
            "subjects": [
                f"cases:{world.case.pk}",
                f"contacts:{ali_calls.pk}",
                f"related_people:{mother.pk}",
            ]
        },
    )
    client.post(f"{base}/prepare/")
    item.refresh_from_db()
    bundle, document = item.export_file.name, report[0].document.name
    assert private_storage().exists(bundle) and private_storage().exists(document)
    assert client.post(f"{base}/erase/").status_code == 422  # review first
    client.post(f"{base}/review/")
    assert client.post(f"{base}/release/").status_code == 422  # erasure releases nothing
    stats = _statistics()

    assert client.post(f"{base}/erase/").status_code == 302

    assert _statistics() == stats
    verified = audit_verify()
    assert verified.ok and verified.checked > 0, verified.broken
    case = Case.objects.get(pk=world.case.pk)
    assert (case.first_name, case.identity_index, case.pseudonym) == ("", "", "")
    assert case.anonymised_at is not None
    assert not Entry.objects.filter(case=case).exclude(title="", text="").exists()
    assert RelatedPerson.objects.get(pk=mother.pk).name == ""
    contact = Contact.objects.get(pk=ali_calls.pk)
    assert (contact.caller_name, contact.caller_phone, contact.summary) == ("", "", "")
    item.refresh_from_db()
    assert item.status == "closed" and item.erased_at and item.export == ""
    # the document and the bundle that held its decrypted copy are gone
    assert not private_storage().exists(bundle) and not private_storage().exists(document)
    assert not item.export_file and not Entry.objects.get(pk=report[0].pk).document
    event = AuditEvent.objects.get(action="privacy.subject_request.erase")
    assert event.details["counts"]["case"] == 1 and "Ali" not in json.dumps(event.details)
    # the person can no longer be found
    again = services.subject_request_create(actor=personas.dpo, kind="access", article="art15")
    from casebridge.privacy.selectors import subject_search

    assert subject_search(personas.dpo, again, **IDENTITY) == []


def test_bad_input_names_the_field_and_changes_nothing(personas):
    client = personas.client(personas.dpo)
    response = client.post("/privacy/requests/", {"kind": "access", "article": "art99"})
    assert response.status_code == 422
    assert "article" in response.context["form"].errors
    api = client.post(
        "/api/v1/privacy/requests",
        {"kind": "access", "article": "art15", "received_on": "2999-01-01"},
        content_type="application/json",
    )
    assert api.status_code == 422
    assert "received_on" in api.json()["fields"]
    attach = client.post(
        f"/api/v1/privacy/requests/{services.subject_request_create(actor=personas.dpo, kind='access', article='art15').pk}/subjects",
        {"subjects": ["cases:999999"]},
        content_type="application/json",
    )
    assert attach.status_code == 422 and "subjects" in attach.json()["fields"]
    assert SubjectRequest.objects.count() == 1


def test_api_workflow(world, personas):
    client = personas.client(personas.dpo)
    created = client.post(
        "/api/v1/privacy/requests",
        {"kind": "access", "article": "art15"},
        content_type="application/json",
    )
    assert created.status_code == 201
    base = f"/api/v1/privacy/requests/{created.json()['id']}"
    found = client.post(f"{base}/search", IDENTITY, content_type="application/json").json()
    assert [m["key"] for m in found] == [f"cases:{world.case.pk}"]
    client.post(
        f"{base}/subjects", {"subjects": [found[0]["key"]]}, content_type="application/json"
    )
    for step in ("prepare", "review", "release"):
        assert client.post(f"{base}/{step}").status_code == 200, step
    export = client.get(f"{base}/export")
    assert export.status_code == 200
    assert export.json()["cases"][0]["identity"]["last_name"] == "Beispiel"
    bundle = client.get(f"{base}/export/bundle")
    assert bundle.status_code == 200 and bundle["Content-Type"] == "application/zip"
    with _bundle(b"".join(bundle.streaming_content)) as archive:
        assert json.loads(archive.read("export.json")) == export.json()
    assert client.post(f"{base}/close").json()["status"] == "closed"
    assert client.get(f"{base}/export/bundle").status_code == 422


def test_the_dpo_still_reads_no_case_content_outside_a_request(world, personas):
    client = personas.client(personas.dpo)
    assert client.get(f"/cases/{world.case.pk}/").status_code in (403, 404)


def test_navigation_shows_subject_requests_to_the_dpo_only(personas):
    assert "/privacy/requests/" in personas.client(personas.dpo).get("/").content.decode()
    assert (
        "/privacy/requests/" not in personas.client(personas.coordinator).get("/").content.decode()
    )


PAGES = """
endpoint                        hotline coordinator partner partner_other police prison_expired dpo admin outsider
GET  /privacy/requests/         403     403         403     403           403    403            200 403   403
POST /privacy/requests/         403     403         403     403           403    403            302 403   403
GET  /privacy/requests/{r}/     403     403         403     403           403    403            200 403   403
POST /privacy/requests/{r}/search/ 403  403         403     403           403    403            200 403   403
POST /privacy/requests/{r}/prepare/ 403 403         403     403           403    403            302 403   403
GET  /privacy/requests/{r}/export/  403 403         403     403           403    403            409 403   403
GET  /privacy/requests/{r}/export/?format=zip 403 403 403   403           403    403            409 403   403
"""


@pytest.mark.parametrize(("method", "path", "persona", "expected"), list(matrix_params(PAGES)))
def test_pages_answer_persona(world, personas, method, path, persona, expected):
    item = services.subject_request_create(actor=personas.dpo, kind="access", article="art15")
    services.subject_request_attach(
        actor=personas.dpo, request=item, keys=[f"cases:{world.case.pk}"]
    )
    data = {"kind": "access", "article": "art15"} if path == "/privacy/requests/" else IDENTITY
    client = personas.client(getattr(personas, persona))
    url = path.format(r=item.pk)
    response = client.post(url, data) if method == "POST" else client.get(url)
    assert response.status_code == expected
    if expected == 403:
        assert "Beispiel" not in response.content.decode()


API = """
endpoint                          hotline coordinator partner partner_other police prison_expired dpo admin outsider
GET  /requests                    403     403         403     403           403    403            200 403   403
POST /requests                    403     403         403     403           403    403            201 403   403
GET  /requests/{r}                403     403         403     403           403    403            200 403   403
POST /requests/{r}/search         403     403         403     403           403    403            200 403   403
POST /requests/{r}/subjects       403     403         403     403           403    403            200 403   403
POST /requests/{r}/prepare        403     403         403     403           403    403            200 403   403
POST /requests/{p}/review         403     403         403     403           403    403            200 403   403
POST /requests/{v}/release        403     403         403     403           403    403            200 403   403
POST /requests/{e}/erase          403     403         403     403           403    403            200 403   403
POST /requests/{r}/close          403     403         403     403           403    403            200 403   403
GET  /requests/{x}/export         403     403         403     403           403    403            200 403   403
GET  /requests/{x}/export/bundle  403     403         403     403           403    403            200 403   403
GET  /requests/{r}/export/bundle  403     403         403     403           403    403            422 403   403
"""


@pytest.mark.parametrize(("method", "path", "persona", "expected"), list(matrix_params(API)))
def test_api_answers_persona(world, personas, method, path, persona, expected):
    dpo = personas.dpo

    def made(kind="access", steps=()):
        item = services.subject_request_create(actor=dpo, kind=kind, article="art15")
        services.subject_request_attach(actor=dpo, request=item, keys=[f"cases:{world.case.pk}"])
        for step in steps:
            getattr(services, f"subject_request_{step}")(actor=dpo, request=item)
        return item.pk

    ids = {
        "r": made(),
        "p": made(steps=("prepare",)),
        "v": made(steps=("prepare", "review")),
        "e": made(kind="erasure", steps=("prepare", "review")),
        "x": made(steps=("prepare", "review", "release")),
    }
    bodies = {
        "/requests": {"kind": "access", "article": "art15"},
        "/requests/{r}/search": IDENTITY,
        "/requests/{r}/subjects": {"subjects": [f"cases:{world.case.pk}"]},
    }
    client = personas.client(getattr(personas, persona))
    url = "/api/v1/privacy" + path.format(**ids)
    body = bodies.get(path)
    response = client.generic(
        method, url, data=json.dumps(body) if body else "", content_type="application/json"
    )
    assert response.status_code == expected, response.content[:300]
    if expected == 403:
        assert "Beispiel" not in response.content.decode()


def test_every_privacy_operation_is_in_the_matrix():
    assert_matrix_covers(
        API,
        "/api/v1/privacy",
        {f"{{{k}}}": "{request_id}" for k in "rpvex"},
    )


def test_a_refused_user_is_recorded(personas):
    personas.client(personas.coordinator).get("/privacy/requests/")
    event = AuditEvent.objects.filter(action="privacy.subject_request").latest("id")
    assert event.outcome == "denied" and event.actor == personas.coordinator


@pytest.fixture
def warned_and_asked(world, personas):
    """A staff-safety warning and a request for information about the person (issue 17)."""
    from datetime import timedelta

    from django.utils import timezone

    from casebridge.sharing import services as sharing_services

    warning = case_services.safety_warning_set(
        actor=personas.police,
        case=world.case,
        kind="do_not_meet_alone",
        note="Ali nur zu zweit treffen.",
        reason="Ali drohte dem Berater.",
        review_on=timezone.localdate() + timedelta(days=30),
    )
    asked = sharing_services.information_request_create(
        actor=personas.police,
        case=world.case,
        to_participant=world.lead,
        categories=[Term.objects.get(kind="information_category", code="counselling")],
        question="Hat Ali die Ausreise erwähnt?",
        purpose="Gefahrenabwehr",
        legal_basis=Term.objects.get(kind="legal_basis", code="danger_prevention_bdsg"),
        due_on=timezone.localdate() + timedelta(days=3),
    )
    sharing_services.information_request_refuse(
        actor=personas.partner, info_request=asked, reason="Ali hat nichts dazu gesagt."
    )
    return warning, asked


def test_access_and_erasure_cover_warnings_and_requests(world, warned_and_asked, personas):
    """Art. 15 shows what the new records say about the person; Art. 17 empties them."""
    warning, asked = warned_and_asked
    texts = (
        "Ali nur zu zweit treffen.",
        "Ali drohte dem Berater.",
        "Hat Ali die Ausreise erwähnt?",
        "Ali hat nichts dazu gesagt.",
    )
    client = personas.client(personas.dpo)
    access = _create(client)
    client.post(f"/privacy/requests/{access.pk}/attach/", {"subjects": [f"cases:{world.case.pk}"]})
    client.post(f"/privacy/requests/{access.pk}/prepare/")
    page = client.get(f"/privacy/requests/{access.pk}/export/").content.decode()
    for text in texts:
        assert text in page, text

    erase = _create(client, kind="erasure", article="art17")
    base = f"/privacy/requests/{erase.pk}"
    client.post(f"{base}/attach/", {"subjects": [f"cases:{world.case.pk}"]})
    client.post(f"{base}/prepare/")
    client.post(f"{base}/review/")
    assert client.post(f"{base}/erase/").status_code == 302
    warning.refresh_from_db()
    asked.refresh_from_db()
    assert (warning.note, warning.reason) == ("", "")
    assert (asked.question, asked.refusal, asked.purpose) == ("", "", "")
    assert warning.kind and asked.status == "refused"  # the facts for statistics stay


def test_a_caller_learns_whom_the_hotline_informed_and_erasure_empties_it(personas):
    """Art. 15(1)(c): the caller's copy names the recipient and basis of what the hotline
    passed on, and whether their contact details went with it — not the excerpt about the
    person of concern (a third party). Art. 17 empties the disclosure's text."""
    from casebridge.sharing import services as sharing_services
    from casebridge.sharing.models import ContactDisclosure
    from tests.builders import make_contact

    contact = make_contact(
        personas,
        anonymous=False,
        caller_name="Erika Beispiel",
        caller_phone="+49 40 0000 1234",
        first_analysis={"danger_to_others": "yes"},
    )
    disclosure = ContactDisclosure.objects.get(contact=contact)
    sharing_services.contact_disclosure_prepare(
        actor=personas.hotline,
        disclosure=disclosure,
        recipient=disclosure.recipient,
        excerpt="Der Sohn plant einen Anschlag.",
        identity="Max Beispiel, Elbstraße 5",
        include_caller_contact=True,
        purpose="Gefahrenabwehr",
        legal_basis=Term.objects.get(kind="legal_basis", code="justifying_emergency"),
        justification="Gegenwärtige Gefahr.",
        approver=personas.coordinator,
    )
    sharing_services.contact_disclosure_decide(
        actor=personas.coordinator, disclosure=disclosure, approve=True
    )
    client = personas.client(personas.dpo)
    access = _create(client)
    client.post(f"/privacy/requests/{access.pk}/attach/", {"subjects": [f"contacts:{contact.pk}"]})
    client.post(f"/privacy/requests/{access.pk}/prepare/")
    page = client.get(f"/privacy/requests/{access.pk}/export/").content.decode()
    assert disclosure.recipient.name in page and "justifying_emergency" in page
    assert "Anschlag" not in page and "Max Beispiel" not in page

    erase = _create(client, kind="erasure", article="art17")
    base = f"/privacy/requests/{erase.pk}"
    client.post(f"{base}/attach/", {"subjects": [f"contacts:{contact.pk}"]})
    client.post(f"{base}/prepare/")
    client.post(f"{base}/review/")
    assert client.post(f"{base}/erase/").status_code == 302
    disclosure.refresh_from_db()
    assert (disclosure.excerpt, disclosure.identity, disclosure.purpose) == ("", "", "")
    assert disclosure.status == "sent" and disclosure.recipient_id  # the record of the flow stays


def test_access_and_erasure_cover_transfers(world, personas):
    """A transfer's reason, consent note and decline reason speak of the person (issue 17,
    flow 3): Art. 15 shows them, Art. 17 empties them and keeps the facts."""
    from casebridge.network.models import Region

    transfer = case_services.transfer_propose(
        actor=personas.partner,
        case=world.case,
        to_organisation=personas.partner_other.memberships.get().organisation,
        region=Region.objects.get(code="DE-BE"),
        reason="Ali zieht zu seiner Tante nach Berlin.",
        consent_note="Ali stimmte am 3. Mai schriftlich zu.",
    )
    case_services.transfer_decline(
        actor=personas.partner_other, transfer=transfer, reason="Für Ali kein Platz frei."
    )
    texts = (
        "Ali zieht zu seiner Tante nach Berlin.",
        "Ali stimmte am 3. Mai schriftlich zu.",
        "Für Ali kein Platz frei.",
    )
    client = personas.client(personas.dpo)
    access = _create(client)
    client.post(f"/privacy/requests/{access.pk}/attach/", {"subjects": [f"cases:{world.case.pk}"]})
    client.post(f"/privacy/requests/{access.pk}/prepare/")
    page = client.get(f"/privacy/requests/{access.pk}/export/").content.decode()
    for text in texts:
        assert text in page, text

    erase = _create(client, kind="erasure", article="art17")
    base = f"/privacy/requests/{erase.pk}"
    client.post(f"{base}/attach/", {"subjects": [f"cases:{world.case.pk}"]})
    client.post(f"{base}/prepare/")
    client.post(f"{base}/review/")
    assert client.post(f"{base}/erase/").status_code == 302
    transfer.refresh_from_db()
    assert (transfer.reason, transfer.consent_note, transfer.decline_reason) == ("", "", "")
    assert transfer.status == "declined" and transfer.region.code == "DE-BE"  # facts stay


def test_access_and_erasure_cover_outcomes(world, personas):
    """Issue 20: the person sees the judgements on their course and their answer about
    follow-ups (Art. 15); erasure empties the note on how they were asked and the
    judgements' rationales, and keeps the levels for the statistics (Art. 17)."""
    from casebridge.cooperation_models.models import Term
    from casebridge.outcomes import services as outcomes
    from casebridge.outcomes.models import Assessment, FollowUpConsent

    outcomes.assessment_record(
        actor=personas.partner,
        case=world.case,
        occasion="intake",
        ratings=[outcomes.RatingIn("network_ties", 1)],
        rationale="Ali trifft die Gruppe nur noch selten.",
    )
    case_services.case_close(
        actor=personas.partner,
        case=world.case,
        closing_reason=Term.objects.get(kind="case_closing_reason", code="goals_reached"),
    )
    outcomes.follow_up_plan(
        actor=personas.partner, case=world.case, consent=True, note="Ali sagte am Telefon ja."
    )
    client = personas.client(personas.dpo)
    access = _create(client)
    client.post(f"/privacy/requests/{access.pk}/attach/", {"subjects": [f"cases:{world.case.pk}"]})
    client.post(f"/privacy/requests/{access.pk}/prepare/")
    page = client.get(f"/privacy/requests/{access.pk}/export/").content.decode()
    for text in (
        "Ali trifft die Gruppe nur noch selten.",
        "Ali sagte am Telefon ja.",
        "network_ties",
    ):
        assert text in page, text

    erase = _create(client, kind="erasure", article="art17")
    base = f"/privacy/requests/{erase.pk}"
    client.post(f"{base}/attach/", {"subjects": [f"cases:{world.case.pk}"]})
    client.post(f"{base}/prepare/")
    client.post(f"{base}/review/")
    assert client.post(f"{base}/erase/").status_code == 302
    consent = FollowUpConsent.objects.get(case=world.case)
    assert consent.note == "" and consent.given  # the answer stays, the words go
    assessment = Assessment.objects.get(case=world.case)
    assessment.entry.refresh_from_db()
    assert assessment.entry.text == ""
    assert assessment.ratings.get().level == 1
