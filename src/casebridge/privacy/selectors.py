"""Reads for data subject requests: the data protection officer's only route to content.

Every function here answers only to an active data protection officer (others get
``PermissionDenied``), and every record read for a request is audited with the purpose
"subject request <reference>". Outside a request, the policy still gives the officer no
case content.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied, SuspiciousFileOperation, ValidationError
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from casebridge.access.policy import organisations_with
from casebridge.accounts.models import Role
from casebridge.accounts.permissions import has_role
from casebridge.accounts.stepup import demand
from casebridge.audit import chain
from casebridge.audit.models import AuditEvent
from casebridge.audit.services import audit_denied, audit_record, chain_end
from casebridge.cases.models import Case, Entry, RelatedPerson
from casebridge.cases.services import identity_index
from casebridge.crypto.keys import name_index
from casebridge.dates import day_range
from casebridge.federation.models import CrossHandover, Message
from casebridge.hotline.models import Contact
from casebridge.privacy.models import SubjectRequest

SUBJECT_KINDS = ("cases", "contacts", "related_people")


def is_dpo(actor) -> bool:
    return has_role(actor, Role.DATA_PROTECTION_OFFICER)


def require_dpo(actor, action: str = "privacy.subject_request") -> None:
    if not is_dpo(actor):
        if getattr(actor, "is_authenticated", False):
            audit_denied(
                actor=actor,
                action=action,
                object_type="privacy.subjectrequest",
                object_id="",
                reason="only data protection officers handle subject requests",
            )
        raise PermissionDenied


def subject_requests(actor) -> list[SubjectRequest]:
    require_dpo(actor)
    return list(SubjectRequest.objects.all()[:500])


def access_subject_request(actor, request_id: int) -> SubjectRequest:
    require_dpo(actor)
    found = SubjectRequest.objects.filter(pk=request_id).first()
    if found is None:
        raise Http404
    return found


# -- finding the person -------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    kind: str  # "cases" | "contacts" | "related_people"
    id: int
    label: str  # a case number or contact reference: never a name
    basis: str  # what matched: "name_dob", "name", "case_number", "contact_reference"
    on: object  # the record's date (opened, contact start)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


def subject_search(
    actor,
    request: SubjectRequest,
    *,
    first_name: str = "",
    last_name: str = "",
    date_of_birth: str = "",
    case_number: str = "",
    contact_reference: str = "",
) -> list[Match]:
    """Find the records about a person through the blind indexes, or by number/reference.

    Name and date of birth match a case's person exactly; name alone matches a caller or
    a related person (they have no date of birth): the officer confirms those.
    """
    require_dpo(actor)
    if not ((first_name.strip() and last_name.strip()) or case_number or contact_reference):
        raise ValidationError(
            {
                "last_name": [
                    _(
                        "Enter first and last name (and date of birth), "
                        "a case number or a reference."
                    )
                ]
            }
        )
    matches: list[Match] = []
    if first_name.strip() and last_name.strip():
        if date_of_birth.strip():
            index = identity_index(first_name, last_name, date_of_birth)
            for case in Case.objects.filter(identity_index=index).select_related(None):
                matches.append(Match("cases", case.pk, case.number, "name_dob", case.opened_at))
        full = name_index(f"{first_name} {last_name}")
        for contact in Contact.objects.filter(caller_index=full).only("reference", "started_at"):
            matches.append(
                Match("contacts", contact.pk, contact.reference, "name", contact.started_at)
            )
        for person in RelatedPerson.objects.filter(name_index=full).select_related("case"):
            matches.append(
                Match(
                    "related_people", person.pk, person.case.number, "name", person.case.opened_at
                )
            )
    if case_number.strip():
        for case in Case.objects.filter(number=case_number.strip()):
            matches.append(Match("cases", case.pk, case.number, "case_number", case.opened_at))
    if contact_reference.strip():
        for contact in Contact.objects.filter(reference=contact_reference.strip()):
            matches.append(
                Match(
                    "contacts",
                    contact.pk,
                    contact.reference,
                    "contact_reference",
                    contact.started_at,
                )
            )
    unique = list({m.key: m for m in matches}.values())
    audit_record(
        actor=actor,
        action="privacy.subject.search",
        obj=request,
        purpose=request.purpose,
        details={"matches": [m.key for m in unique]},
    )
    return unique


def subject_records_exist(subjects: dict[str, list[int]]) -> dict[str, list[int]]:
    """The ids of ``subjects`` that exist, per kind (for attaching search results)."""
    models = {"cases": Case, "contacts": Contact, "related_people": RelatedPerson}
    return {
        kind: sorted(models[kind].objects.filter(pk__in=ids).values_list("pk", flat=True))
        for kind, ids in subjects.items()
    }


# -- the export ---------------------------------------------------------------------------


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _label(term) -> str | None:
    return term.code if term is not None else None


def _read(actor, request: SubjectRequest, obj, **counts) -> None:
    audit_record(
        actor=actor,
        action="privacy.subject.read",
        obj=obj,
        purpose=request.purpose,
        details={"request": request.reference, **counts},
    )


@dataclass
class ExportDocument:
    """A document that goes into the export bundle."""

    file: str  # its path inside the bundle
    stored: str  # its name in the private storage
    record: dict  # its entry's "document" in export.json; the bundle adds size and sha256


@dataclass
class Export:
    data: dict
    documents: list[ExportDocument]


def _document(entry: Entry, documents: list[ExportDocument]) -> dict | None:
    """The entry's document in export.json; the file itself is queued for the bundle."""
    if not entry.document:
        return None
    try:
        safe = get_valid_filename(entry.document_name)[-100:]
    except SuspiciousFileOperation:
        safe = "document"
    record = {"name": entry.document_name, "file": f"documents/{entry.pk}-{safe}"}
    documents.append(ExportDocument(record["file"], entry.document.name, record))
    return record


def _follow_up(case: Case) -> dict | None:
    """Whether the person agreed to be contacted after closure, and the follow-ups."""
    consent = getattr(case, "follow_up_consent", None)
    if consent is None:
        return None
    return {
        "consent": consent.given,
        "note": consent.note,
        "recorded_at": _iso(consent.recorded_at),
        "withdrawn_at": _iso(consent.withdrawn_at),
        "follow_ups": [{"due": _iso(f.due_on), "status": f.status} for f in case.follow_ups.all()],
    }


def _case(case: Case, documents: list[ExportDocument]) -> dict:
    """A case about the subject: their identity and the case's content, documents included.
    Related people are third parties: their relation only. Staff appear as their
    organisation."""
    entries = list(case.entries.select_related("category", "author_organisation"))
    conferences = list(case.conferences.prefetch_related("items__category"))
    disclosures = list(
        case.disclosures.select_related(
            "from_participant__organisation", "to_participant__organisation", "legal_basis"
        )
    )
    contact = case.referral.contact if case.referral_id else None
    return {
        "number": case.number,
        "pseudonym": case.pseudonym,
        "identity": {
            "first_name": case.first_name,
            "last_name": case.last_name,
            "date_of_birth": case.date_of_birth,
            "address": case.address,
        },
        "status": case.status,
        "phase": case.phase,
        "opened_at": _iso(case.opened_at),
        "closed_at": _iso(case.closed_at),
        "closing_reason": _label(case.closing_reason),
        "anonymised_at": _iso(case.anonymised_at),
        "lead_organisation": case.owner.name,
        "participants": [
            {"organisation": p.organisation.name, "role": p.role.code}
            for p in case.participants.select_related("organisation", "role")
        ],
        "related_people": [{"relation": p.relation.code} for p in case.related_people.all()],
        "entries": [
            {
                "category": e.category.code,
                "kind": e.kind,
                "date": _iso(e.occurred_on),
                "title": e.title,
                "text": e.text,
                "likelihood": e.likelihood,
                "imminence": e.imminence,
                "document": _document(e, documents),
                "organisation": e.author_organisation.name,
            }
            for e in entries
        ],
        "goals": [
            {
                "horizon": g.horizon,
                "goal": g.title,
                "status": g.status,
                "target": _iso(g.target_date),
            }
            for g in case.goals.all()
        ],
        # outcome judgements (issue 20): the levels chosen on each dimension, with the
        # occasion; the rationale is the entry's text above
        "outcome_assessments": [
            {
                "occasion": a.occasion,
                "date": _iso(a.assessed_on),
                "levels": {r.dimension.code: r.level for r in a.ratings.all()},
            }
            for a in case.assessments.prefetch_related("ratings__dimension")
        ],
        "follow_up": _follow_up(case),
        "conferences": [
            {
                "date": _iso(c.held_on),
                "title": c.title,
                "items": [
                    {"kind": i.kind, "category": i.category.code, "text": i.text}
                    for i in c.items.all()
                ],
            }
            for c in conferences
        ],
        "consents": [
            {
                "given_by": c.given_by,
                "purpose": c.purpose,
                "categories": [t.code for t in c.categories.all()],
                "given_on": _iso(c.given_on),
                "valid_until": _iso(c.valid_until),
                "withdrawn_at": _iso(c.withdrawn_at),
            }
            for c in case.consents.all()
        ],
        "disclosures": [
            {
                "from": d.from_participant.organisation.name,
                "to": d.to_participant.organisation.name,
                "purpose": d.purpose,
                "legal_basis": d.legal_basis.code,
                "excerpt": d.excerpt,
                "entries": [e.pk for e in d.entries.all()],
                "status": d.status,
                "requested_at": _iso(d.requested_at),
                "decided_at": _iso(d.decided_at),
            }
            for d in disclosures
        ],
        "requests_for_information": [
            {
                "from": r.from_participant.organisation.name,
                "to": r.to_participant.organisation.name,
                "categories": [t.code for t in r.categories.all()],
                "question": r.question,
                "purpose": r.purpose,
                "legal_basis": r.legal_basis.code,
                "status": r.status,
                "refusal": r.refusal,
                "requested_at": _iso(r.requested_at),
                "decided_at": _iso(r.decided_at),
            }
            for r in case.information_requests.select_related(
                "from_participant__organisation", "to_participant__organisation", "legal_basis"
            ).prefetch_related("categories")
        ],
        "safety_warnings": [
            {
                "precaution": w.kind,
                "note": w.note,
                "reason": w.reason,
                "organisation": w.participant.organisation.name,
                "set_at": _iso(w.set_at),
                "review_on": _iso(w.review_on),
                "ended_at": _iso(w.ended_at),
            }
            for w in case.safety_warnings.select_related("participant__organisation")
        ],
        "transfers": [
            {
                "from": t.from_organisation.name,
                "to": t.to_organisation.name,
                "region": t.region.code,
                "reason": t.reason,
                "consent": t.consent_note,
                "legal_basis": t.legal_basis.code if t.legal_basis_id else "",
                "justification": t.justification,
                "status": t.status,
                "decline_reason": t.decline_reason,
                "proposed_at": _iso(t.proposed_at),
                "decided_at": _iso(t.decided_at),
            }
            for t in case.transfers.select_related(
                "from_organisation", "to_organisation", "region", "legal_basis"
            )
        ],
        # handovers to or from partner installations (issue 22) and every message about
        # the case that crossed to one: what went where, when, on which basis
        "partner_installations": [
            {
                "direction": h.direction,
                "partner": h.agreement.partner,
                "agreement": h.agreement.code,
                "status": h.status,
                "categories": h.categories,
                "legal_basis": h.legal_basis,
                "consent": h.consent_note,
                "justification": h.justification,
                "reason": h.reason,
                "decline_reason": h.decline_reason,
                "requested_at": _iso(h.created_at),
                "decided_at": _iso(h.decided_at),
                "completed_at": _iso(h.completed_at),
            }
            for h in CrossHandover.objects.filter(case=case).select_related("agreement")
        ],
        "partner_messages": [
            {
                "direction": m.direction,
                "partner": m.partner,
                "type": m.type,
                "status": m.status,
                "categories": m.categories,
                "legal_basis": m.legal_basis,
                "at": _iso(m.created_at),
                "hash": m.hash,
            }
            for m in Message.objects.filter(case=case).defer("envelope", "answer")
        ],
        # The contact that led to the case describes the subject; the caller is a third
        # party, so the caller's identity is left out.
        "from_contact": (
            {
                "reference": contact.reference,
                "started_at": _iso(contact.started_at),
                "summary": contact.summary,
                "advice": contact.advice,
            }
            if contact
            else None
        ),
    }


def _contact(contact: Contact) -> dict:
    """A contact in which the subject was the caller: their identity and what was said."""
    return {
        "reference": contact.reference,
        "channel": contact.channel,
        "started_at": _iso(contact.started_at),
        "ended_at": _iso(contact.ended_at),
        "identity": {
            "name": contact.caller_name,
            "phone": contact.caller_phone,
            "email": contact.caller_email,
            "postcode": contact.caller_postcode,
        },
        "caller_category": _label(contact.caller_category),
        "contact_category": _label(contact.contact_category),
        "summary": contact.summary,
        "advice": contact.advice,
        "next_steps": contact.next_steps,
        "anonymised_at": _iso(contact.anonymised_at),
        "referrals": [
            {
                "partner": r.partner.name,
                "mode": r.mode,
                "status": r.status,
                "sent_at": _iso(r.sent_at),
                "message": r.message,
                "consent_note": r.consent_note,
            }
            for r in contact.referrals.select_related("partner")
        ],
        # What the hotline passed on to an authority after a danger (Art. 15(1)(c): the
        # recipients). The excerpt and the identifying details describe the person of
        # concern, a third party: not part of the caller's copy.
        "disclosures": [
            {
                "recipient": d.recipient.name if d.recipient else None,
                "legal_basis": d.legal_basis.code,
                "status": d.status,
                "sent_at": _iso(d.decided_at) if d.status == "sent" else None,
                "purpose": d.purpose,
                "caller_contact_details_passed_on": d.include_caller_contact,
            }
            for d in contact.disclosures.select_related("recipient", "legal_basis").defer(
                "identity"
            )
        ],
    }


def _related_person(person: RelatedPerson) -> dict:
    """The subject named as a related person in someone else's case: their own record and
    the case number, nothing of the case's person or content."""
    return {
        "case": person.case.number,
        "relation": person.relation.code,
        "name": person.name,
        "phone": person.phone,
        "note": person.note,
    }


def _object_keys(request: SubjectRequest) -> list[tuple[str, str]]:
    """(object_type, object_id) of every record the export covers, for its audit events."""
    subjects = request.subjects or {}
    keys = [("cases.case", str(pk)) for pk in subjects.get("cases", [])]
    keys += [("hotline.contact", str(pk)) for pk in subjects.get("contacts", [])]
    keys += [("cases.relatedperson", str(pk)) for pk in subjects.get("related_people", [])]
    cases = Case.objects.filter(pk__in=subjects.get("cases", []))
    for model_label, ids in (
        ("cases.entry", cases.values_list("entries", flat=True)),
        ("cases.goal", cases.values_list("goals", flat=True)),
        ("cases.conference", cases.values_list("conferences", flat=True)),
        ("sharing.consent", cases.values_list("consents", flat=True)),
        ("sharing.disclosure", cases.values_list("disclosures", flat=True)),
        (
            "sharing.informationrequest",
            cases.values_list("information_requests", flat=True),
        ),
        ("cases.safetywarning", cases.values_list("safety_warnings", flat=True)),
        ("cases.transfer", cases.values_list("transfers", flat=True)),
        (
            "hotline.referral",
            Contact.objects.filter(pk__in=subjects.get("contacts", [])).values_list(
                "referrals", flat=True
            ),
        ),
    ):
        keys += [(model_label, str(pk)) for pk in ids if pk is not None]
    return keys


def subject_export_build(actor, request: SubjectRequest) -> Export:
    """Everything held about the subject of ``request``: plain data and the documents to
    bundle with it (every read audited)."""
    require_dpo(actor)
    subjects = request.subjects or {}
    documents: list[ExportDocument] = []
    export = {
        "request": {
            "reference": request.reference,
            "kind": request.kind,
            "article": request.article,
            "prepared_at": _iso(timezone.now()),
        },
        "cases": [],
        "contacts": [],
        "related_people": [],
        "audit_events": [],
    }
    for case in Case.objects.filter(pk__in=subjects.get("cases", [])).select_related(
        "owner", "closing_reason", "referral__contact"
    ):
        before = len(documents)
        data = _case(case, documents)
        export["cases"].append(data)
        _read(
            actor,
            request,
            case,
            entries=len(data["entries"]),
            documents=len(documents) - before,
        )
    for contact in Contact.objects.filter(pk__in=subjects.get("contacts", [])).select_related(
        "caller_category", "contact_category"
    ):
        export["contacts"].append(_contact(contact))
        _read(actor, request, contact)
    for person in RelatedPerson.objects.filter(
        pk__in=subjects.get("related_people", [])
    ).select_related("case", "relation"):
        export["related_people"].append(_related_person(person))
        _read(actor, request, person)
    keys = _object_keys(request)
    if keys:
        by_type: dict[str, list[str]] = {}
        for object_type, object_id in keys:
            by_type.setdefault(object_type, []).append(object_id)
        query = Q()
        for object_type, ids in by_type.items():
            query |= Q(object_type=object_type, object_id__in=ids)
        # Staff usernames are left out: the subject learns which organisations acted
        # (participants, disclosures), not which employee.
        export["audit_events"] = [
            {
                "at": _iso(event.occurred_at),
                "action": event.action,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "outcome": event.outcome,
            }
            for event in AuditEvent.objects.filter(query).exclude(
                action__startswith="privacy.subject"
            )
        ]
    return Export(export, documents)


# -- the audit log, for the data protection officer ------------------------------------

PER_PAGE = 100
EXPORT_CHUNK = 2000


def _events_for_dpo(
    actor,
    *,
    username: str = "",
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    outcome: str = "",
    day_from: date | None = None,
    day_to: date | None = None,
) -> QuerySet[AuditEvent]:
    """The events the filters select; only for data protection officers (404 for others)."""
    if not organisations_with(actor, frozenset({Role.DATA_PROTECTION_OFFICER})):
        raise Http404
    events = AuditEvent.objects.all()
    if username:
        events = events.filter(actor_label=username)
    if action:
        events = events.filter(action__startswith=action)
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    if outcome:
        events = events.filter(outcome=outcome)
    return events.filter(**day_range("occurred_at", day_from, day_to))


def _recorded(filters: dict) -> dict:
    """The filters as the audit event keeps them: the ones set, dates as text."""
    return {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in sorted(filters.items())
        if value
    }


def events_for_dpo(actor, *, page: int | str = 1, **filters) -> Page:
    """One page (newest first) of who accessed what, filtered; ``page.paginator.count`` is
    how many events match. Only for data protection officers (404 for others)."""
    events = _events_for_dpo(actor, **filters).order_by("-id")
    shown = Paginator(events, PER_PAGE).get_page(page)
    audit_record(
        actor=actor,
        action="audit.log.view",
        purpose="data protection review",
        details={"filters": _recorded(filters), "page": shown.number},
    )
    return shown


@dataclass(frozen=True)
class AuditExport:
    """Every matching event up to the chain's end when the export began, oldest first."""

    count: int
    rows: Iterator[tuple]  # (sequence, prev_hash, hash, *chain.CONTENT_FIELDS) as hashed


def _chain_rows(events: QuerySet[AuditEvent], chunk: int) -> Iterator[tuple]:
    """The events in chain order with their hashed content split into its fields, read in
    keyset chunks (constant memory however many there are)."""
    # The chain's own content expression (constants only), so the fields are the hashed text.
    content = RawSQL(chain.content_sql(connection.vendor), ())  # noqa: S611
    rows = events.annotate(content=content).order_by("sequence")
    after = 0
    while True:
        batch = list(
            rows.filter(sequence__gt=after).values_list("sequence", "prev_hash", "hash", "content")[
                :chunk
            ]
        )
        for sequence, prev_hash, hash_, text in batch:
            yield (sequence, prev_hash, hash_, *text.split(chain.SEPARATOR))
        if len(batch) < chunk:
            return
        after = batch[-1][0]


def export_for_dpo(actor, *, fmt: str, chunk: int = EXPORT_CHUNK, **filters) -> AuditExport:
    """Every event the filters select — no cap — with its chain position and hash, for an
    auditor to verify (docs/operations.md). Seals what is pending first and stops at the
    chain's end then, so the count is exact; the export is audited (filters, format and
    count). Only for data protection officers (404 for others), in a confirmed browser
    session (a step-up action: ``accounts.stepup``)."""
    demand("audit.log.export", actor=actor)
    events = _events_for_dpo(actor, **filters).filter(sequence__lte=chain_end())
    count = events.count()
    audit_record(
        actor=actor,
        action="audit.log.export",
        purpose="data protection review",
        details={"filters": _recorded(filters), "format": fmt, "count": count},
    )
    return AuditExport(count, _chain_rows(events, chunk))
