"""Reads of the federation: agreements, handovers, the register of flows, person matches.

What a user sees: the agreements they act under (staff of an agreement's organisations,
and coordinators); the handovers of those agreements, with the content of a handover's
request only to those who may act on it; the register of every message (metadata, no
content) to data protection officers and coordinators.
"""

from __future__ import annotations

import time

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from casebridge.access.policy import (
    PARTNER_ROLES,
    Action,
    decide,
    emergency_access_of,
    organisations_with,
)
from casebridge.accounts.models import Role
from casebridge.accounts.permissions import active_roles
from casebridge.accounts.stepup import EMERGENCY_PURPOSE
from casebridge.audit.services import audit_denied, audit_record
from casebridge.cases import selectors as case_selectors
from casebridge.cases.models import Case
from casebridge.cooperation_models.models import Term
from casebridge.federation.models import Agreement, CrossHandover, Direction, MatchDigest, Message
from casebridge.hotline.routing import suggest
from casebridge.labels import pick_label
from casebridge.network.models import COUNSELLING_SECTORS, Organisation, OrganisationType, Sector
from casebridge.network.selectors import PostcodeError, region_for_postcode
from casebridge.refusals import EmergencyRefused
from casebridge.sharing.models import Protocol

REGISTER_ROLES = frozenset({Role.DATA_PROTECTION_OFFICER, Role.COORDINATOR})


def term_for(agreement: Agreement, direction: str, purpose: str) -> dict | None:
    """The agreement's entry for ``purpose`` in ``direction`` ("send"/"receive")."""
    for term in (agreement.terms or {}).get(direction, []):
        if term.get("purpose") == purpose:
            return {"categories": [], **term}
    return None


def partner_name(agreement: Agreement) -> str:
    return pick_label(agreement.partner_labels, fallback=agreement.partner)


def agreements_for(actor) -> list[Agreement]:
    """Agreements in force whose organisations include one the actor works for."""
    mine = organisations_with(actor, PARTNER_ROLES)
    return list(
        Agreement.objects.filter(active=True, organisations__in=mine)
        .distinct()
        .prefetch_related("organisations")
    )


def may_see_register(actor) -> bool:
    return bool(active_roles(actor) & REGISTER_ROLES)


# The organisations under an agreement in force, for the navigation and the case page's
# section, which every page shows: kept per process for a minute (and dropped at once when
# an agreement changes here, see apps.py), so no page pays a query for a link.
AGREEMENT_ORGANISATIONS_SECONDS = 60
_agreement_organisations: tuple[float, frozenset[int]] | None = None


def agreement_organisations() -> frozenset[int]:
    """Ids of this installation's organisations that act under an agreement in force."""
    global _agreement_organisations
    now = time.monotonic()
    if _agreement_organisations is None or _agreement_organisations[0] < now:
        listed = frozenset(
            organisation
            for agreement in Agreement.objects.filter(active=True).prefetch_related("organisations")
            if agreement.in_force()
            for organisation in (o.pk for o in agreement.organisations.all())
        )
        _agreement_organisations = (now + AGREEMENT_ORGANISATIONS_SECONDS, listed)
    return _agreement_organisations[1]


def forget_agreement_organisations(**_signal) -> None:
    """Drop the kept organisations under agreements (an agreement was changed)."""
    global _agreement_organisations
    _agreement_organisations = None


def acts_under_an_agreement(actor) -> bool:
    return bool(organisations_with(actor, PARTNER_ROLES) & agreement_organisations())


def may_use_federation(actor) -> bool:
    """Whether the user has anything to do with partner installations (the nav link)."""
    return may_see_register(actor) or acts_under_an_agreement(actor)


def category_labels() -> dict[str, str]:
    """Information category code -> label in the user's language."""
    return {term.code: term.label for term in Term.objects.of("information_category")}


def legal_basis_of(code: str) -> Term | None:
    return Term.objects.of("legal_basis").filter(code=code).first()


def on_consent(term: dict | None) -> bool:
    """Whether the term's legal basis is the person's consent (else: a justification)."""
    if term is None:
        return True
    basis = legal_basis_of(term.get("legal_basis", ""))
    return basis is None or basis.attributes.get("kind") == "consent"


def agreement_summary(agreement: Agreement, labels: dict[str, str]) -> dict:
    """What may be sent and received under the agreement, per purpose, with labels."""

    def terms(direction: str) -> list[dict]:
        return [
            {
                "purpose": term.get("purpose", ""),
                "categories": [labels.get(code, code) for code in term.get("categories", [])],
                "legal_basis": term.get("legal_basis", ""),
            }
            for term in (agreement.terms or {}).get(direction, [])
        ]

    return {
        "agreement": agreement,
        "partner": partner_name(agreement),
        "in_force": agreement.in_force(),
        "send": terms("send"),
        "receive": terms("receive"),
    }


def all_agreements(actor) -> list[Agreement]:
    """Every agreement with its message counts: the coordinators' and DPO's overview."""
    if not may_see_register(actor):
        raise PermissionDenied
    return list(
        Agreement.objects.annotate(
            sent=Count("messages", filter=Q(messages__direction=Direction.OUT)),
            received=Count("messages", filter=Q(messages__direction=Direction.IN)),
            waiting=Count("messages", filter=Q(messages__status=Message.Status.PENDING)),
            refused=Count("messages", filter=Q(messages__status=Message.Status.REFUSED)),
        ).prefetch_related("organisations")
    )


def register(
    actor, *, agreement: str = "", direction: str = "", status: str = "", limit: int = 500
) -> list[Message]:
    """Every message to and from partner installations, newest first: who, what type,
    which categories, on what basis, with both sides' hashes. No content."""
    if not may_see_register(actor):
        raise PermissionDenied
    rows = Message.objects.select_related("agreement", "case", "actor").defer("envelope", "answer")
    if agreement:
        rows = rows.filter(agreement__code=agreement)
    if direction in Direction.values:
        rows = rows.filter(direction=direction)
    if status in Message.Status.values:
        rows = rows.filter(status=status)
    result = list(rows[:limit])
    audit_record(
        actor=actor,
        action="federation.register.view",
        details={"count": len(result), "agreement": agreement or None},
    )
    return result


def register_rows(rows: list[Message]) -> list[dict]:
    """The register's metadata per message (no content), for the page, CSV and API."""
    return [
        {
            "id": m.pk,
            "time": m.created_at,
            "direction": m.direction,
            "partner": m.partner,
            "agreement": m.agreement.code if m.agreement_id else "",
            "type": m.type,
            "status": m.status,
            "refusal": m.refusal_code,
            "categories": list(m.categories or []),
            "legal_basis": m.legal_basis,
            "case": m.case.number if m.case_id else "",
            "user": m.actor.username if m.actor_id else "",
            "message_hash": m.hash,
            "answer_hash": m.answer_hash,
        }
        for m in rows
    ]


def _handovers_for(actor) -> QuerySet[CrossHandover]:
    """Incoming handovers of agreements the actor acts under; outgoing ones of cases the
    actor leads or works on (through the case's policy, on their pages)."""
    mine = organisations_with(actor, PARTNER_ROLES)
    agreements = Agreement.objects.filter(organisations__in=mine).values("pk")
    return CrossHandover.objects.filter(
        Q(direction=Direction.IN, agreement__in=agreements)
        | Q(direction=Direction.OUT, requested_by=actor)
    ).select_related("agreement", "case", "organisation")


def handovers(actor, *, direction: str = "", status: str = "") -> list[CrossHandover]:
    rows = _handovers_for(actor)
    if direction in Direction.values:
        rows = rows.filter(direction=direction)
    if status in CrossHandover.Status.values:
        rows = rows.filter(status=status)
    return list(rows[:500])


def reads_handover_by_emergency(actor, *, handover_id: int, **_ids) -> bool:
    """For the step-up door of an API operation on a handover: whether the actor reads the
    case of an outgoing handover only by emergency access."""
    case_id = (
        CrossHandover.objects.filter(pk=handover_id, direction=Direction.OUT)
        .values_list("case_id", flat=True)
        .first()
    )
    return bool(case_id) and emergency_access_of(actor, case_id) is not None


def access_handover(actor, handover_id: int, *, for_write: bool = False) -> CrossHandover:
    """One handover the actor may see (404 otherwise); reading its request is audited.

    ``for_write``: the caller is about to act on it. Who reads the handover's case only by
    emergency access is refused (403, audited), as ``cases.selectors.access_case`` does.
    """
    if for_write and reads_handover_by_emergency(actor, handover_id=handover_id):
        audit_denied(
            actor=actor,
            action="federation.handover.write",
            object_type="federation.crosshandover",
            object_id=handover_id,
            reason="emergency access only reads",
            purpose=EMERGENCY_PURPOSE,
        )
        raise EmergencyRefused
    handover = _handovers_for(actor).filter(pk=handover_id).first()
    if handover is None and handover_id:
        # the lead of an outgoing handover's case (another colleague asked for it)
        candidate = (
            CrossHandover.objects.filter(pk=handover_id, direction=Direction.OUT)
            .select_related("agreement", "case", "organisation")
            .first()
        )
        if (
            candidate is not None
            and candidate.case_id
            and decide(actor, Action.CHANGE, candidate.case)
        ):
            handover = candidate
    if handover is None:
        raise Http404
    audit_record(
        actor=actor,
        action="federation.handover.view",
        obj=handover,
        details={"agreement": handover.agreement.code, "direction": handover.direction},
    )
    return handover


def case_handovers(case: Case) -> list[CrossHandover]:
    """The handovers of a case to or from partner installations (for its page, whose
    reader the case's policy has already admitted)."""
    return list(CrossHandover.objects.filter(case=case).select_related("agreement").order_by("-pk"))


def open_handover(case: Case) -> CrossHandover | None:
    return (
        CrossHandover.objects.filter(
            case=case,
            direction=Direction.OUT,
            status__in=[CrossHandover.Status.REQUESTED, CrossHandover.Status.ACCEPTED],
        )
        .order_by("-pk")
        .first()
    )


def disclosure_sent(handover: CrossHandover) -> bool:
    return (
        Message.objects.filter(
            agreement=handover.agreement,
            direction=Direction.OUT,
            thread=handover.thread,
            type="disclosure",
        )
        .exclude(status=Message.Status.REFUSED)
        .exists()
    )


def handover_messages(handover: CrossHandover) -> list[Message]:
    return list(
        Message.objects.filter(agreement=handover.agreement, thread=handover.thread)
        .defer("envelope", "answer")
        .order_by("created_at", "pk")
    )


def received(partner: str, message_id: str) -> Message | None:
    """The first record of a message received from ``partner`` (not a refusal)."""
    return (
        Message.objects.filter(partner=partner, direction=Direction.IN, message_id=message_id)
        .exclude(status=Message.Status.REFUSED)
        .first()
    )


def receiving_organisations(actor, agreement: Agreement) -> list[Organisation]:
    """The actor's counselling organisations under the agreement in the sector its receive
    term names (where a case handed over may open)."""
    mine = organisations_with(actor, PARTNER_ROLES)
    term = term_for(agreement, "receive", "handover") or {}
    sectors = [code for code in COUNSELLING_SECTORS if code == term.get("receiving_sector")]
    return list(
        agreement.organisations.filter(
            pk__in=mine, type__sector__code__in=sectors, active=True
        ).order_by("name")
    )


def consultation_reply(agreement: Agreement, body) -> dict:
    """The agreement's counselling organisations that cover the place, with free places.

    No person is named in the question, so nothing is read about anyone here."""
    try:
        place = region_for_postcode(body.postcode)
    except PostcodeError:
        return {"covered": False, "region": "", "organisations": []}
    listed = set(
        agreement.organisations.filter(type__sector__code__in=COUNSELLING_SECTORS).values_list(
            "pk", flat=True
        )
    )
    offers = [
        {
            "organisation": suggestion.name[:200],
            "city": "",
            "free_places": suggestion.free_capacity,
            "language_ok": suggestion.language_ok,
        }
        for suggestion in suggest(place=place, language=body.language, limit=50)
        if suggestion.organisation_id in listed and suggestion.match_level
    ][:10]
    cities = dict(Organisation.objects.filter(pk__in=listed).values_list("name", "city"))
    for offer in offers:
        offer["city"] = (cities.get(offer["organisation"]) or "")[:200]
    with_language = [offer for offer in offers if offer["language_ok"]]
    return {
        "covered": bool(with_language or offers),
        "region": place.region.label[:200],
        "organisations": offers,
    }


def matchable_cases(agreement: Agreement) -> dict[int, str]:
    """Open cases of the agreement's organisations with a known name: id -> identity
    index (the index changes whenever name or date of birth do)."""
    return dict(
        Case.objects.filter(
            status=Case.Status.OPEN,
            owner__in=agreement.organisations.all(),
            anonymised_at__isnull=True,
        )
        .exclude(identity_index="")
        .values_list("pk", "identity_index")
    )


def digest_sources(agreement: Agreement) -> dict[int, str]:
    return dict(
        MatchDigest.objects.filter(agreement=agreement).values_list("case_id", "source").distinct()
    )


def identities(case_ids: list[int], batch: int = 2000):
    """Name and date of birth of these cases, for their match digests (never shown)."""
    for start in range(0, len(case_ids), batch):
        rows = Case.objects.filter(pk__in=case_ids[start : start + batch]).only(
            "pk", "first_name", "last_name", "date_of_birth"
        )
        for case in rows:
            yield (
                case.pk,
                {
                    "first_name": case.first_name,
                    "last_name": case.last_name,
                    "date_of_birth": case.date_of_birth,
                },
            )


def match_result(agreement: Agreement, digests) -> tuple[str, Case | None]:
    for kind, result in (("full", "match"), ("surname_birth", "possible")):
        digest = getattr(digests, kind)
        if not digest:
            continue
        hit = (
            MatchDigest.objects.filter(agreement=agreement, kind=kind, digest=digest)
            .select_related("case")
            .first()
        )
        if hit is not None:
            return result, hit.case
    return "none", None


def waiting(agreement: Agreement) -> int:
    """Messages to the partner still in the outbox."""
    return Message.objects.filter(
        agreement=agreement, direction=Direction.OUT, status=Message.Status.PENDING
    ).count()


def case_to_hand_over(actor, case_id: int) -> Case:
    """A case for its lead's federation page and actions: 404 for anyone else, and the
    403 "by emergency access" for whoever reads it by emergency access (audited)."""
    case = case_selectors.access_case(actor, case_id, for_write=True)
    if not decide(actor, Action.CHANGE, case):
        raise Http404
    return case


def kept_from(term: dict | None) -> set[str]:
    """The categories this installation's model keeps from the term's receiving sector:
    the sector's ``never_by_scope``, and every ``must_not_share`` rule of an active
    procedure addressed to the sector, to an organisation type of it or to everybody.

    Read when a message is written and when one arrives, not only when the model file
    is checked: a procedure activated since may have added a barrier."""
    code = (term or {}).get("receiving_sector")
    sector = Sector.objects.filter(code=code).first() if code else None
    if sector is None:
        return set()
    kept = set(sector.never_by_scope)
    types = set(OrganisationType.objects.filter(sector=sector).values_list("code", flat=True))
    active = Protocol.objects.filter(status=Protocol.Status.ACTIVE)
    for rules in active.values_list("rules", flat=True):
        for rule in rules:
            recipient = rule.get("recipient") or {}
            if rule.get("obligation") == "must_not_share" and (
                recipient.get("all")
                or recipient.get("sector") == code
                or recipient.get("organisation_type") in types
            ):
                kept.update(rule.get("categories", []))
    return kept
