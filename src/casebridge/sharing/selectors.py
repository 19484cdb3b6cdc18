"""Reads for the SOP: tasks, a case's obligations, disclosures and consents, the DPO register."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from casebridge.access.policy import (
    Action,
    any_read_by_emergency,
    decide,
    emergency_access_of,
    organisations_with,
    seat_for,
    seated_case_ids,
    seats_in,
    visible,
)
from casebridge.accounts.models import Membership, Role, User
from casebridge.accounts.permissions import has_role
from casebridge.accounts.stepup import demand
from casebridge.audit.selectors import events_of_user_between
from casebridge.audit.services import audit_record
from casebridge.cases.models import Case, Entry, Participant
from casebridge.cooperation_models.models import Term
from casebridge.network.models import OrganisationType, Sector
from casebridge.network.selectors import my_action_items
from casebridge.sharing.models import (
    Consent,
    ContactDisclosure,
    Disclosure,
    EmergencyAccess,
    InformationRequest,
    Obligation,
)
from casebridge.sop import engine as sop


def _requests():
    return (
        InformationRequest.objects.select_related(
            "case",
            "from_participant__organisation",
            "to_participant__organisation",
            "legal_basis",
            "requested_by",
            "decided_by",
        )
        .defer(*(f"case__{name}" for name in Case.IDENTITY_FIELDS))
        .prefetch_related(
            "categories",
            Prefetch(
                "disclosures",
                queryset=Disclosure.objects.only("pk", "status", "answers_id"),
                to_attr="answered_by",
            ),
        )
    )


def case_requests(actor, case: Case) -> list[InformationRequest]:
    """The case's requests for information as the actor may see them: all of them for
    whoever may change the case, else those its organisation made or was asked."""
    rows = _requests().filter(case=case)
    if not decide(actor, Action.CHANGE, case):
        seat = seat_for(actor, case.pk)
        participant = seat.participant_id if seat else None
        rows = rows.filter(Q(from_participant_id=participant) | Q(to_participant_id=participant))
    return list(rows)


def case_request(actor, case: Case, request_id: int) -> InformationRequest:
    """One request of a case the actor accessed; 404 unless the actor may see it."""
    found = next((r for r in case_requests(actor, case) if r.pk == request_id), None)
    if found is None:
        raise Http404
    return found


def request_register(actor) -> dict:
    """For the data protection officer: requests for information by direction (sector of
    the organisation that asked → sector of the one asked) and outcome, and the newest
    1,000 requests (no question, no answer: who asked whom, why, on which basis)."""
    if not organisations_with(actor, frozenset({Role.DATA_PROTECTION_OFFICER})):
        raise Http404
    now = timezone.now()
    directions = (
        InformationRequest.objects.values(
            "from_participant__organisation__type__sector__code",
            "to_participant__organisation__type__sector__code",
        )
        .annotate(
            asked=Count("pk"),
            answered=Count("pk", filter=Q(status=InformationRequest.Status.ANSWERED)),
            refused=Count("pk", filter=Q(status=InformationRequest.Status.REFUSED)),
            open=Count("pk", filter=Q(status=InformationRequest.Status.OPEN)),
            overdue=Count("pk", filter=Q(status=InformationRequest.Status.OPEN, due_at__lt=now)),
        )
        .order_by(
            "from_participant__organisation__type__sector__code",
            "to_participant__organisation__type__sector__code",
        )
    )
    sectors = {sector.code: sector.label for sector in Sector.objects.all()}
    rows = [
        {
            "from_sector": sectors.get(
                d["from_participant__organisation__type__sector__code"], "–"
            ),
            "to_sector": sectors.get(d["to_participant__organisation__type__sector__code"], "–"),
            **{key: d[key] for key in ("asked", "answered", "refused", "open", "overdue")},
        }
        for d in directions
    ]
    requests = list(_requests()[:1000])
    audit_record(
        actor=actor,
        action="sharing.request.register",
        details={"count": len(requests)},
        purpose="data protection review",
    )
    return {"directions": rows, "requests": requests}


def _disclosures():
    return Disclosure.objects.select_related(
        "case",
        "from_participant__organisation",
        "to_participant__organisation",
        "legal_basis",
        "excerpt_category",
        "requested_by",
        "decided_by",
        "consent",
    ).prefetch_related("entries__category")


def task_counts(actor) -> dict[str, int]:
    """For the overview: open and overdue obligations, approvals waiting (numbers only)."""
    tasks = my_tasks(actor)
    return {
        "obligations": len(tasks["obligations"]),
        "overdue": sum(o.overdue for o in tasks["obligations"]),
        "approvals": len(tasks["approvals"]),
        "requests": len(tasks["requests"]),
        "action_items": len(tasks["action_items"]),
        "emergency_reviews": emergency_review_count(actor),
    }


def my_tasks(actor) -> dict:
    """Open obligations the actor is responsible for, and disclosures waiting for their approval."""
    obligations = list(
        Obligation.objects.filter(responsible=actor, status=Obligation.Status.OPEN)
        .select_related("case", "protocol")
        .defer(*(f"case__{name}" for name in Case.IDENTITY_FIELDS))
    )
    candidates = list(
        _disclosures()
        .filter(status=Disclosure.Status.PENDING)
        .filter(
            Q(case_id__in=seated_case_ids(actor))
            | Q(
                from_participant__organisation_id__in=organisations_with(
                    actor, frozenset({Role.COORDINATOR})
                )
            )
        )
    )
    asked = list(
        _requests()
        .filter(status=InformationRequest.Status.OPEN, case_id__in=seated_case_ids(actor))
        .order_by("due_at", "id")
    )
    # at once: can_approve() and the requests' addressees ask no seat one by one
    held = seats_in(actor, {d.case_id for d in candidates} | {r.case_id for r in asked})
    approvals = [d for d in candidates if can_approve(actor, d)]
    requests = [
        r
        for r in asked
        if r.case_id in held and held[r.case_id].participant_id == r.to_participant_id
    ]
    hotline = hotline_disclosures_to_do(actor)
    return {
        "obligations": obligations,
        "approvals": approvals,
        "requests": requests,
        "hotline_to_do": hotline,
        "hotline_approvals": [d for d in hotline if can_approve_contact_disclosure(actor, d)],
        "hotline_received": [
            d for d in hotline_reports_received(actor, limit=50) if d.received_at is None
        ],
        **_network_tasks(actor),
    }


def _network_tasks(actor) -> dict:
    """Hook: open action items of network meetings the actor owns (issue 8)."""

    return {"action_items": my_action_items(actor)}


@dataclass
class CaseSharing:
    obligations: list[Obligation]
    disclosures: list[Disclosure]  # those the actor's organisation sent or received
    consents: list[Consent]
    can_change: bool


def received_disclosures(actor, case: Case) -> list[Disclosure]:
    """What was disclosed to the actor's participant in this case and approved: what it
    may now see beyond its scope, shown first on the case page. The read is audited."""
    seat = seat_for(actor, case.pk)
    if seat is None or seat.participant_id is None:
        return []
    received = list(
        _disclosures().filter(
            case=case, to_participant_id=seat.participant_id, status=Disclosure.Status.APPROVED
        )
    )
    if received:
        audit_record(
            actor=actor,
            action="sharing.disclosure.read",
            obj=case,
            details={"number": case.number, "disclosures": [d.pk for d in received]},
        )
    return received


def disclosed_excerpt_rows(actor, case: Case) -> list[dict]:
    """The excerpts disclosed to the reader's participant, as rows of the case export
    (``cases.selectors.EXPORT_ROW_SOURCES``): the page shows them, so the export does too.
    Disclosed entries are in the export already (the reader may read them)."""
    return [
        {
            "date": timezone.localtime(d.decided_at).date().isoformat() if d.decided_at else "",
            "kind": "disclosed_excerpt",
            "category": d.excerpt_category.code if d.excerpt_category else "",
            "organisation": d.from_participant.organisation.name,
            "author": str(d.requested_by),
            "title": d.purpose,
            "text": d.excerpt,
            "likelihood": "",
            "imminence": "",
        }
        for d in received_disclosures(actor, case)
        if d.excerpt
    ]


def open_obligations(case: Case) -> dict:
    """How many obligations of the case are open, and how many of those are overdue (no
    content: the case page's header points to the section "procedure" with them)."""
    return Obligation.objects.filter(case=case, status=Obligation.Status.OPEN).aggregate(
        open=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=timezone.now()))
    )


def case_sharing(actor, case: Case) -> CaseSharing:
    """The SOP side of a case as the actor may see it (the case was accessed already):
    obligations, the disclosure register (a participant that may not change the case sees
    only what its organisation sent or received), consents for those who may change it."""
    seat = seat_for(actor, case.pk)
    can_change = bool(decide(actor, Action.CHANGE, case))
    disclosures = _disclosures().filter(case=case)
    if not can_change:
        disclosures = disclosures.filter(
            Q(from_participant_id=seat.participant_id) | Q(to_participant_id=seat.participant_id)
        )
    return CaseSharing(
        obligations=list(
            Obligation.objects.filter(case=case).select_related(
                "responsible", "recipient", "protocol"
            )
        ),
        disclosures=list(disclosures),
        consents=list(
            Consent.objects.filter(case=case).prefetch_related(
                "categories", "recipients__organisation"
            )
        )
        if can_change
        else [],
        can_change=can_change,
    )


def disclosure_choices(actor, case: Case) -> dict:
    """What the actor may pick in a disclosure: other active participants, the entries the
    actor may read, the case's consents (the form offers those not withdrawn; one withdrawn
    meanwhile reaches the service, which says by whom and when), its open obligations."""

    seat = seat_for(actor, case.pk)
    return {
        "to_participant": Participant.objects.active()
        .filter(case=case)
        .exclude(pk=seat.participant_id)
        .select_related("organisation", "role"),
        "entries": visible(actor, Entry.objects.all(), case=case).select_related("category"),
        "consent": Consent.objects.filter(case=case).select_related("withdrawn_by"),
        "obligation": Obligation.objects.filter(case=case, status=Obligation.Status.OPEN),
        "approver": approvers(seat.participant_id, seat.organisation_id, actor),
        "answers": InformationRequest.objects.filter(
            case=case, status=InformationRequest.Status.OPEN, to_participant_id=seat.participant_id
        ).select_related("from_participant__organisation"),
    }


def case_obligation(case: Case, obligation_id: int) -> Obligation:
    return get_object_or_404(Obligation.objects.select_related("case"), pk=obligation_id, case=case)


def case_consent(case: Case, consent_id: int) -> Consent:
    return get_object_or_404(Consent.objects.select_related("case"), pk=consent_id, case=case)


def disclosure_for_decision(actor, disclosure_id: int) -> Disclosure:
    """A pending disclosure the actor may approve or reject; 404 otherwise. Refused (and
    audited) while the actor reads its case only by emergency access."""
    disclosure = _disclosures().filter(pk=disclosure_id).first()
    if disclosure is None or not can_approve(actor, disclosure):
        raise Http404
    if emergency_access_of(actor, disclosure.case_id) is not None:
        demand("sharing.disclosure.decide", actor=actor, emergency=True, obj=disclosure)
    return disclosure


def decides_by_emergency(actor, *, disclosure_id: int, **_ids) -> bool:
    """For the step-up door of a decision: is its case read only by emergency access?"""
    case_ids = Disclosure.objects.filter(pk=disclosure_id).values_list("case_id", flat=True)
    return any_read_by_emergency(actor, case_ids)


def register(actor, *, legal_basis: str = "") -> list[Disclosure]:
    """Every disclosure across cases, for the data protection officer (no content shown)."""
    if not organisations_with(actor, frozenset({Role.DATA_PROTECTION_OFFICER})):
        raise Http404
    rows = _disclosures()
    if legal_basis:
        rows = rows.filter(legal_basis__code=legal_basis)
    result = list(rows[:1000])
    audit_record(
        actor=actor,
        action="sharing.register.view",
        details={"count": len(result)},
        purpose="data protection review",
    )
    return result


def hotline_register(actor) -> list[ContactDisclosure]:
    """For the data protection officer: every disclosure the hotline prepared, sent or gave
    up, newest 1,000 — contact reference, recipient, basis, who prepared and approved,
    when, receipt; never the excerpt, the identifying details or the weighing."""
    if not organisations_with(actor, frozenset({Role.DATA_PROTECTION_OFFICER})):
        raise Http404
    rows = list(
        _contact_disclosures()
        .defer("excerpt", "justification")
        .exclude(status=ContactDisclosure.Status.OPEN, requested_at__isnull=True)
        .order_by("-created_at", "-id")[:1000]
    )
    audit_record(
        actor=actor,
        action="sharing.register.hotline",
        details={"count": len(rows)},
        purpose="data protection review",
    )
    return rows


# --- emergency access (break-glass) -----------------------------------------------------


def emergency_case(actor, number: str) -> Case:
    """The case a coordinator names for emergency access (its number only is checked)."""
    if not has_role(actor, Role.COORDINATOR):
        raise Http404
    case = visible(
        actor, Case.objects.filter(number=number.strip().upper()), Action.VIEW_METADATA
    ).first()
    if case is None:
        raise ValidationError({"case": [_("No case has this number.")]})
    return case


def my_emergency_accesses(actor) -> list[EmergencyAccess]:
    """The coordinator's own emergency accesses, running ones first."""
    if not has_role(actor, Role.COORDINATOR):
        raise Http404
    return list(EmergencyAccess.objects.filter(user=actor).select_related("case")[:50])


def emergency_access(actor, access_id: int) -> EmergencyAccess:
    """One access: for the person who opened it, or for a data protection officer."""
    access = get_object_or_404(
        EmergencyAccess.objects.select_related(
            "case", "user", "organisation", "ended_by", "reviewed_by"
        ),
        pk=access_id,
    )
    if access.user_id != actor.pk and not has_role(actor, Role.DATA_PROTECTION_OFFICER):
        raise Http404
    return access


def emergency_review_queue(actor) -> dict[str, list[EmergencyAccess]]:
    """The data protection officer's queue: waiting for review, then the latest reviewed."""
    if not has_role(actor, Role.DATA_PROTECTION_OFFICER):
        raise Http404
    accesses = EmergencyAccess.objects.select_related("case", "user", "organisation", "reviewed_by")
    return {
        "waiting": list(accesses.filter(reviewed_at__isnull=True).order_by("started_at")),
        "reviewed": list(accesses.filter(reviewed_at__isnull=False).order_by("-reviewed_at")[:50]),
    }


def emergency_review_count(actor) -> int:
    """For the overview: accesses waiting for the data protection officer's review."""
    if not has_role(actor, Role.DATA_PROTECTION_OFFICER):
        return 0
    return EmergencyAccess.objects.filter(reviewed_at__isnull=True).count()


def emergency_access_review_page(actor, access_id: int) -> tuple[EmergencyAccess, list]:
    """An access with everything its holder did meanwhile, for the data protection officer."""

    if not has_role(actor, Role.DATA_PROTECTION_OFFICER):
        raise Http404
    access = emergency_access(actor, access_id)
    events = events_of_user_between(access.user_id, access.started_at, access.ends_at)
    audit_record(
        actor=actor,
        action="sharing.emergency.review_view",
        obj=access,
        purpose="data protection review",
        details={"case": access.case.number, "events": len(events)},
    )
    return access, events


def can_approve(actor, disclosure: Disclosure) -> bool:
    """A second person: the colleague the requester named, else any other named person of
    the disclosing participant; a coordinator of the disclosing organisation always (the
    named colleague may be away) — never the person who asked."""
    if disclosure.status != Disclosure.Status.PENDING or actor.pk == disclosure.requested_by_id:
        return False
    coordinating = organisations_with(actor, frozenset({Role.COORDINATOR}))
    if disclosure.from_participant.organisation_id in coordinating:
        return True
    seat = seat_for(actor, disclosure.case_id)
    if seat is None or seat.participant_id != disclosure.from_participant_id:
        return False
    return disclosure.approver_id is None or disclosure.approver_id == actor.pk


def coordinator_emails(organisation_id: int, *, excluding=None) -> list[str]:
    """The mail addresses of the organisation's active coordinators (escalations, a
    disclosure waiting for a second person)."""
    rows = Membership.objects.active().filter(
        organisation_id=organisation_id, role=Role.COORDINATOR, user__is_active=True
    )
    if excluding is not None:
        rows = rows.exclude(user=excluding)
    return list(rows.exclude(user__email="").values_list("user__email", flat=True))


def approvers(participant_id: int, organisation_id: int, requester) -> QuerySet:
    """Who may be named as the second person of a disclosure from the participant: its
    other named people and the coordinators of its organisation, active now."""
    coordinators = Membership.objects.active().filter(
        organisation_id=organisation_id, role=Role.COORDINATOR
    )
    members = Participant.members.through.objects.filter(participant_id=participant_id)
    return (
        User.objects.filter(is_active=True)
        .filter(Q(pk__in=members.values("user_id")) | Q(pk__in=coordinators.values("user_id")))
        .exclude(pk=requester.pk)
        .order_by("last_name", "first_name", "username")
    )


def disclosure_review(actor, disclosure_id: int) -> Disclosure:
    """Everything a second person needs to judge a pending disclosure — the items in full or
    the excerpt, purpose, basis, justification, consent, the obligation or request it
    answers, the case's number and phase — without a seat in the case. 404 unless the
    actor may decide it; the read is audited."""
    disclosure = disclosure_for_decision(actor, disclosure_id)
    disclosure.items = list(disclosure.entries.all())  # prefetched with their categories
    audit_record(
        actor=actor,
        action="sharing.disclosure.review",
        obj=disclosure,
        details={"case": disclosure.case.number, "items": len(disclosure.items)},
    )
    return disclosure


def stored_vocabulary():
    """The loaded model's codes, for checking stored protocols."""

    terms = Term.objects.filter(active=True)
    return sop.Vocabulary(
        categories=frozenset(t.code for t in terms if t.kind == "information_category"),
        legal_bases={
            t.code: t.attributes.get("kind", "other") for t in terms if t.kind == "legal_basis"
        },
        roles=frozenset(t.code for t in terms if t.kind == "case_role"),
        organisation_types=dict(
            OrganisationType.objects.filter(active=True).values_list("code", "sector__code")
        ),
        sectors=frozenset(Sector.objects.filter(active=True).values_list("code", flat=True)),
    )


def disclosed_entry_ids(disclosure: Disclosure) -> list[int]:
    """The entries a disclosure the caller obtained through these selectors carries."""
    return [entry.pk for entry in disclosure.entries.all()]


# --- the hotline's disclosures --------------------------------------------------------------


def _contact_disclosures(*, identity: bool = False):
    rows = ContactDisclosure.objects.select_related(
        "contact__organisation",
        "contact__person_region",
        "contact__caller_region",
        "event",
        "protocol",
        "recipient",
        "recipient_type",
        "legal_basis",
        "requested_by",
        "approver",
        "decided_by",
        "received_by",
    )
    return rows if identity else rows.defer("identity")


def contact_disclosures(actor, contact) -> list[ContactDisclosure]:
    """The disclosures of one contact for its hotline (the contact page), without the
    identifying details (they are read, and audited, on the disclosure's own page)."""
    rows = visible(actor, _contact_disclosures().filter(contact=contact), Action.VIEW)
    return list(rows.order_by("created_at", "id"))


def contact_disclosure(actor, disclosure_id: int, action: str = Action.VIEW) -> ContactDisclosure:
    """One hotline disclosure for a page or the API, 404 unless ``action`` is allowed. The
    identifying details and the caller's contact details come with it; reading them is
    audited (the hotline while preparing, the recipient once it is sent)."""
    disclosure = get_object_or_404(
        visible(actor, _contact_disclosures(identity=True), action),
        pk=disclosure_id,
    )
    disclosure.caller = None
    if disclosure.include_caller_contact and not disclosure.contact.anonymous:
        contact = disclosure.contact
        disclosure.caller = {
            "name": contact.caller_name,
            "phone": contact.caller_phone,
            "email": contact.caller_email,
        }
    if disclosure.identity or disclosure.caller:
        audit_record(
            actor=actor,
            action="sharing.contact_disclosure.view",
            obj=disclosure,
            details={
                "contact": disclosure.contact.reference,
                "identity": bool(disclosure.identity),
                "caller": bool(disclosure.caller),
            },
        )
    return disclosure


def hotline_disclosures_to_do(actor) -> list[ContactDisclosure]:
    """The hotline's open and pending disclosures (intake page, tasks), oldest due first."""
    rows = visible(
        actor,
        _contact_disclosures().filter(
            status__in=(ContactDisclosure.Status.OPEN, ContactDisclosure.Status.PENDING)
        ),
        Action.CHANGE,
    )
    return list(rows.order_by(F("due_at").asc(nulls_last=True), "id")[:200])


def hotline_reports_received(actor, *, limit: int = 200) -> list[ContactDisclosure]:
    """What the hotline sent to the actor's organisations, newest first, unread first."""
    rows = visible(actor, _contact_disclosures(), Action.RESPOND)
    return list(rows.order_by(F("received_at").asc(nulls_first=True), "-decided_at")[:limit])


def hotline_approvers(contact, requester) -> QuerySet:
    """Who may be the second person of a hotline disclosure: the active hotline
    counsellors and coordinators of the hotline that took the contact, not the requester."""
    staff = Membership.objects.active().filter(
        organisation_id=contact.organisation_id,
        role__in=(Role.HOTLINE_COUNSELLOR, Role.COORDINATOR),
    )
    return (
        User.objects.filter(is_active=True, pk__in=staff.values("user_id"))
        .exclude(pk=requester.pk)
        .order_by("last_name", "first_name", "username")
    )


def can_approve_contact_disclosure(actor, disclosure: ContactDisclosure) -> bool:
    """The four eyes of the hotline: the colleague the requester named, or a coordinator of
    the hotline (the named colleague may be away) — never the one who prepared it."""
    if (
        disclosure.status != ContactDisclosure.Status.PENDING
        or actor.pk == disclosure.requested_by_id
    ):
        return False
    organisation = disclosure.contact.organisation_id
    if organisation in organisations_with(actor, frozenset({Role.COORDINATOR})):
        return True
    hotline = organisations_with(actor, frozenset({Role.HOTLINE_COUNSELLOR}))
    return organisation in hotline and disclosure.approver_id == actor.pk


def recipient_emails(organisation_id: int) -> list[str]:
    """The addresses of the people who work cases at an organisation (a hotline disclosure
    arrived for them)."""
    rows = Membership.objects.active().filter(
        organisation_id=organisation_id,
        role__in=(Role.PARTNER_COUNSELLOR, Role.SECURITY_LIAISON, Role.COORDINATOR),
        user__is_active=True,
    )
    return sorted(set(rows.exclude(user__email="").values_list("user__email", flat=True)))


def overdue_obligation_count() -> int:
    """How many open obligations are past their due time, network-wide: a number for the
    operators' metrics, nothing of a case."""
    return Obligation.objects.filter(
        status=Obligation.Status.OPEN, due_at__lt=timezone.now()
    ).count()
