"""Key rotation, and data subject requests (GDPR Art. 15 and 17) for the data protection
officer: create, attach the person's records, prepare, review, release or erase, close."""

from __future__ import annotations

import hashlib
import json
import secrets
import zipfile
from collections.abc import Callable
from datetime import date, timedelta
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from casebridge.accounts.stepup import demand
from casebridge.audit.services import audit_record
from casebridge.cases.models import Case, RelatedPerson
from casebridge.crypto import keys
from casebridge.crypto.fields import protected_fields
from casebridge.crypto.files import private_storage
from casebridge.hotline.models import Contact, Referral
from casebridge.privacy import erasure, selectors
from casebridge.privacy.models import SubjectRequest
from casebridge.sharing.models import Consent, ContactDisclosure, Disclosure, InformationRequest


def rotation_plan() -> list[tuple[type, list[str]]]:
    """The models with protected columns, and those columns."""
    plan: dict[type, list[str]] = {}
    for model, name in protected_fields():
        plan.setdefault(model, []).append(name)
    return list(plan.items())


class Rotated(NamedTuple):
    rows: int
    documents: int


def keys_rotate(
    *,
    actor=None,
    batch_size: int = 500,
    progress: Callable[[int, int, str], None] | None = None,
) -> Rotated:
    """Re-encrypt every value and every stored document not sealed with the current key
    (documents still in clear too); return how many rows and documents changed.

    Reads the raw column (and each file's header) to see the key id without decrypting
    what is already current.
    """
    current_id, _key = keys.key_ring().current
    plan = rotation_plan()
    total = sum(model._default_manager.count() for model, _names in plan)
    done = changed = 0
    for model, names in plan:
        last = 0
        while True:
            rows = list(
                model._default_manager.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", *names)[:batch_size]
            )
            if not rows:
                break
            with transaction.atomic():
                for pk, *raw in _raw_rows(model, [r[0] for r in rows], names):
                    stale = [
                        name
                        for name, value in zip(names, raw, strict=True)
                        if value
                        and (not keys.is_encrypted(value) or keys.key_id_of(value) != current_id)
                    ]
                    if stale:
                        obj = model._default_manager.only(*stale).get(pk=pk)
                        model._default_manager.filter(pk=pk).update(
                            **{n: getattr(obj, n) for n in stale}
                        )
                        changed += 1
            last = rows[-1][0]
            done += len(rows)
            if progress:
                progress(done, total, "rows")
    documents = private_storage().reencrypt_all(
        progress=(lambda done, total: progress(done, total, "documents")) if progress else None
    )
    audit_record(
        actor=actor,
        action="privacy.keys.rotate",
        details={"key": current_id, "rows": changed, "documents": documents},
    )
    return Rotated(changed, documents)


def _raw_rows(model, pks: list, names: list[str]):
    """The stored (sealed) values, without the field's decryption."""

    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(n).column) for n in names)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    placeholders = ", ".join(["%s"] * len(pks))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {pk_column}, {columns} FROM {table} WHERE {pk_column} IN ({placeholders})",  # noqa: S608 - names quoted, values bound
            pks,
        )
        return cursor.fetchall()


# -- data subject requests (GDPR Art. 15 and 17) ------------------------------------------


Status = SubjectRequest.Status
# Art. 12(3) GDPR: an answer within one month of receipt.
ANSWER_DAYS = 30


def _next_reference(year: int) -> str:
    prefix = f"SR-{year}-"
    last = (
        SubjectRequest.objects.filter(reference__startswith=prefix)
        .order_by("-reference")
        .values_list("reference", flat=True)
        .first()
    )
    return f"{prefix}{(int(last.rsplit('-', 1)[1]) + 1) if last else 1:04d}"


def _audit(actor, action: str, request: SubjectRequest, **details) -> None:
    audit_record(
        actor=actor,
        action=f"privacy.subject_request.{action}",
        obj=request,
        purpose=request.purpose,
        details={"reference": request.reference, **details},
    )


def _require_status(request: SubjectRequest, *allowed: str) -> None:
    if request.status not in allowed:
        raise ValidationError(
            {
                "status": [
                    _("Not possible while the request is %(status)s.")
                    % {"status": request.get_status_display()}
                ]
            }
        )


EXPORT_FIELDS = ["export", "export_file"]


def _export_drop(request: SubjectRequest) -> None:
    """Delete the stored export (text and bundle); the caller saves ``EXPORT_FIELDS``."""
    if request.export_file:
        private_storage().delete(request.export_file.name)
    request.export, request.export_file = "", ""


class _Digesting:
    """A write-only stream that hashes what passes through it."""

    def __init__(self, out, digest):
        self._out, self._digest = out, digest

    def write(self, data) -> int:
        self._digest.update(data)
        return self._out.write(data)

    def flush(self) -> None:
        pass


def _bundle_write(export: selectors.Export) -> tuple[str, str, str]:
    """Write the bundle for the person: a ZIP of the documents and ``export.json``, stored
    encrypted; return its storage name, the JSON text and the ZIP's SHA-256.

    Each document's size and SHA-256 go into export.json, so the JSON is written last.
    Nothing is written in clear: the ZIP streams into the encrypting storage.
    """
    storage = private_storage()
    name = f"exports/{secrets.token_hex(16)}"
    digest = hashlib.sha256()
    with (
        storage.writer(name) as out,
        zipfile.ZipFile(_Digesting(out, digest), "w") as bundle,
    ):
        for document in export.documents:
            hashed, size = hashlib.sha256(), 0
            # Stored as they are (most are compressed formats already): a case with many
            # documents is bundled at disk speed, well within a request's time.
            with storage.open(document.stored) as source, bundle.open(document.file, "w") as member:
                for chunk in source.chunks():
                    member.write(chunk)
                    hashed.update(chunk)
                    size += len(chunk)
            document.record.update(size=size, sha256=hashed.hexdigest())
        text = json.dumps(export.data, ensure_ascii=False, indent=2, sort_keys=True)
        bundle.writestr("export.json", text, compress_type=zipfile.ZIP_DEFLATED)
    return name, text, digest.hexdigest()


@transaction.atomic
def subject_request_create(
    *,
    actor,
    kind: str,
    article: str,
    requester_note: str = "",
    received_on: date | None = None,
) -> SubjectRequest:
    """Record a person's request; the answer is due one month after receipt."""
    selectors.require_dpo(actor)
    errors: dict[str, list[str]] = {}
    if kind not in SubjectRequest.Kind.values:
        errors["kind"] = [_("Choose access or erasure.")]
    if article not in SubjectRequest.Article.values:
        errors["article"] = [_("Choose the GDPR article the request relies on.")]
    received_on = received_on or timezone.localdate()
    if received_on > timezone.localdate():
        errors["received_on"] = [_("The request cannot be received in the future.")]
    if len(requester_note) > 5000:
        errors["requester_note"] = [_("Keep the note under 5000 characters.")]
    if errors:
        raise ValidationError(errors)
    request = SubjectRequest.objects.create(
        reference=_next_reference(received_on.year),
        kind=kind,
        article=article,
        requester_note=requester_note.strip(),
        received_on=received_on,
        due_on=received_on + timedelta(days=ANSWER_DAYS),
        created_by=actor,
    )
    _audit(actor, "create", request, kind=kind, article=article)
    return request


@transaction.atomic
def subject_request_attach(*, actor, request: SubjectRequest, keys: list[str]) -> SubjectRequest:
    """Attach records found by the search ("cases:12", "contacts:7", ...) to the request."""
    selectors.require_dpo(actor)
    _require_status(request, Status.OPEN, Status.PREPARED)
    wanted: dict[str, set[int]] = {}
    for key in keys:
        kind, _sep, raw = key.partition(":")
        if kind not in selectors.SUBJECT_KINDS or not raw.isdigit():
            raise ValidationError({"subjects": [_("Choose records from the search results.")]})
        wanted.setdefault(kind, set()).add(int(raw))
    if not wanted:
        raise ValidationError({"subjects": [_("Choose at least one record.")]})
    found = selectors.subject_records_exist({k: sorted(v) for k, v in wanted.items()})
    if any(len(found[k]) != len(v) for k, v in wanted.items()):
        raise ValidationError({"subjects": [_("Choose records from the search results.")]})
    subjects = {
        k: sorted(set((request.subjects or {}).get(k, [])) | set(v)) for k, v in found.items()
    }
    request.subjects = {**(request.subjects or {}), **subjects}
    request.status = Status.OPEN  # a changed set of records needs a new export
    _export_drop(request)
    request.export_digest, request.prepared_at = "", None
    request.save(
        update_fields=["subjects", "status", *EXPORT_FIELDS, "export_digest", "prepared_at"]
    )
    _audit(actor, "attach", request, subjects=sorted(keys))
    return request


@transaction.atomic
def subject_request_prepare(*, actor, request: SubjectRequest) -> SubjectRequest:
    """Collect everything held about the subject into the export the officer reviews."""
    selectors.require_dpo(actor)
    _require_status(request, Status.OPEN, Status.PREPARED)
    if not request.subject_count:
        raise ValidationError({"subjects": [_("Find and attach the person's records first.")]})
    export = selectors.subject_export_build(actor, request)
    bundle = _bundle_write(export)
    _export_drop(request)
    request.export_file, request.export, request.export_digest = bundle
    request.status, request.prepared_at = Status.PREPARED, timezone.now()
    request.save(update_fields=[*EXPORT_FIELDS, "export_digest", "status", "prepared_at"])
    _audit(actor, "prepare", request, digest=request.export_digest, documents=len(export.documents))
    return request


@transaction.atomic
def subject_request_review(*, actor, request: SubjectRequest) -> SubjectRequest:
    """The officer has checked the export (third parties, exemptions) and approves it."""
    selectors.require_dpo(actor)
    _require_status(request, Status.PREPARED)
    request.status, request.reviewed_by, request.reviewed_at = (
        Status.REVIEWED,
        actor,
        timezone.now(),
    )
    request.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    _audit(actor, "review", request, digest=request.export_digest)
    return request


@transaction.atomic
def subject_request_release(*, actor, request: SubjectRequest) -> SubjectRequest:
    """Release the reviewed export of an access request: it can now be downloaded."""
    selectors.require_dpo(actor)
    _require_status(request, Status.REVIEWED)
    if request.kind != SubjectRequest.Kind.ACCESS:
        raise ValidationError({"kind": [_("Only an access request releases a copy.")]})
    request.status, request.released_at = Status.RELEASED, timezone.now()
    request.save(update_fields=["status", "released_at"])
    _audit(actor, "release", request, digest=request.export_digest)
    return request


@transaction.atomic
def subject_request_erase(*, actor, request: SubjectRequest) -> SubjectRequest:
    """Carry out a reviewed erasure request: identity, free text and documents of the
    subject's records go; statistical fields, rows and the audit chain stay."""
    selectors.require_dpo(actor)
    _require_status(request, Status.REVIEWED)
    if request.kind != SubjectRequest.Kind.ERASURE:
        raise ValidationError({"kind": [_("Only an erasure request erases.")]})
    now = timezone.now()
    subjects = request.subjects or {}
    case_ids = subjects.get("cases", [])
    counts = erasure.cases_anonymise(Case.objects.filter(pk__in=case_ids), now=now)
    counts.update(erasure.case_items_clear(case_ids))
    counts["consent"] = erasure.consents_clear(Consent.objects.filter(case_id__in=case_ids))
    counts["disclosure"] = erasure.disclosures_clear(
        Disclosure.objects.filter(case_id__in=case_ids)
    )
    counts["request for information"] = erasure.requests_clear(
        InformationRequest.objects.filter(case_id__in=case_ids)
    )
    contact_ids = subjects.get("contacts", [])
    counts["hotline disclosure"] = erasure.contact_disclosures_clear(
        ContactDisclosure.objects.filter(contact_id__in=contact_ids)
    )
    counts["referral"] = erasure.referrals_clear(
        Referral.objects.filter(contact_id__in=contact_ids)
    )
    counts["contact"] = erasure.contacts_clear(
        Contact.objects.filter(pk__in=contact_ids), identity=True, now=now
    )
    counts["related person"] += RelatedPerson.objects.filter(
        pk__in=subjects.get("related_people", [])
    ).update(**erasure.RELATED_PERSON)
    # The export holds what was just erased: it goes too (its digest stays as evidence).
    _export_drop(request)
    request.status, request.erased_at, request.closed_at = Status.CLOSED, now, now
    request.save(update_fields=[*EXPORT_FIELDS, "status", "erased_at", "closed_at"])
    _audit(actor, "erase", request, counts=counts)
    return request


@transaction.atomic
def subject_request_close(*, actor, request: SubjectRequest) -> SubjectRequest:
    """Close the request (answered, or refused with a reason given outside); the stored
    export is dropped."""
    selectors.require_dpo(actor)
    _require_status(request, Status.OPEN, Status.PREPARED, Status.REVIEWED, Status.RELEASED)
    _export_drop(request)
    request.status, request.closed_at = Status.CLOSED, timezone.now()
    request.save(update_fields=[*EXPORT_FIELDS, "status", "closed_at"])
    _audit(actor, "close", request)
    return request


@transaction.atomic
def subject_export_open(*, actor, request: SubjectRequest, download: bool = False) -> dict:
    """The stored export, for review (from prepared on) or as the released download.

    A step-up action: a confirmed browser session only, never a token."""
    demand("privacy.subject_request.export", actor=actor, obj=request)
    selectors.require_dpo(actor)
    if download:
        _require_status(request, Status.RELEASED)
    else:
        _require_status(request, Status.PREPARED, Status.REVIEWED, Status.RELEASED)
    _audit(actor, "download" if download else "export_view", request, digest=request.export_digest)
    return json.loads(request.export)


@transaction.atomic
def subject_export_bundle(*, actor, request: SubjectRequest) -> File:
    """The bundle (ZIP with the documents), opened for streaming: for the officer's review
    from prepared on (audited as viewing the export), and as the copy once released
    (audited as the download)."""
    selectors.require_dpo(actor)
    _require_status(request, Status.PREPARED, Status.REVIEWED, Status.RELEASED)
    if not request.export_file:
        raise ValidationError(
            {"status": [_("This export was prepared without its documents; prepare it again.")]}
        )
    released = request.status == Status.RELEASED
    _audit(
        actor,
        "download" if released else "export_view",
        request,
        digest=request.export_digest,
        bundle=True,
    )
    return request.export_file.open("rb")
