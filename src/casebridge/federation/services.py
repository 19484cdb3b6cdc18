"""Writes of the federation: messages to and from partner installations (issue 22).

Every message is checked against the agreement in both installations: the sender checks
what it may send (``terms["send"]``), the receiver what it may take (``terms["receive"]``)
and, for each item, whether its own model lets the receiving organisation hold it. Each
message sent or received is a ``Message`` row and an audit event carrying both sides'
hashes; a refused one is recorded without its content.

Delivery: requests that need an answer at once (consultation, person match) go out in
the user's request. Handover messages go to an outbox, in order per agreement, tried
right after their transaction commits and again by the worker until the partner takes
them; the partner answers a repeated message with its first answer, so it is processed
once however often it arrives.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import secrets
import uuid
from datetime import timedelta
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import ValidationError as PydanticValidationError

from casebridge.access.policy import (
    PARTNER_ROLES,
    Action,
    decide,
    emergency_access_of,
    may_write,
    organisations_with,
    require,
)
from casebridge.accounts.stepup import demand
from casebridge.audit import signing
from casebridge.audit.models import Outcome
from casebridge.audit.services import audit_record
from casebridge.cases import selectors as case_selectors
from casebridge.cases import services as case_services
from casebridge.cases.models import Case
from casebridge.cooperation_models.models import CooperationModel, Term
from casebridge.federation import protocol, selectors
from casebridge.federation.models import Agreement, CrossHandover, Direction, MatchDigest, Message
from casebridge.federation.protocol import Refused
from casebridge.network.models import Organisation

logger = logging.getLogger(__name__)

INBOX_PATH = "federation/v1/messages"
TIMEOUT_SECONDS = 5
# retries: 30 s, 1 min, 2 min, … up to one hour between attempts
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)


class FederationKeyError(Exception):
    """This installation's signing key is missing or unreadable."""


class PartnerUnavailable(Exception):
    """The partner could not be reached, or answered with something that is no answer."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class PartnerRefused(Exception):
    """The partner refused a message; ``code`` and ``reason`` come from its refusal."""

    def __init__(self, code: str, reason: dict):
        self.code = code
        self.reason = reason
        super().__init__(code)


# --- keys and the installation's name -----------------------------------------------------


def key_dir() -> Path:
    return Path(settings.FEDERATION_DIR)


def signing_key_path() -> Path:
    return key_dir() / "signing-key.pem"


def signing_key() -> Ed25519PrivateKey:
    try:
        return signing.load_private_key(signing_key_path())
    except signing.AuditKeyError:
        raise FederationKeyError(
            f"the federation signing key {signing_key_path()} is missing or not an Ed25519 "
            "key in PEM (create it with `casebridge federation init`)"
        ) from None


def init_keys() -> str:
    """Create this installation's signing key if it has none; return its public key text."""
    path = signing_key_path()
    if not path.exists():
        signing.generate_key(path)
    return protocol.public_key_text(signing_key().public_key())


def match_key_path(agreement: Agreement) -> Path:
    return key_dir() / f"{agreement.code}.match-key"


def match_key(agreement: Agreement) -> bytes | None:
    """The secret the two installations agreed for person matches (32 bytes, base64)."""
    try:
        raw = base64.b64decode(match_key_path(agreement).read_text().strip(), validate=True)
    except (OSError, binascii.Error, ValueError):
        return None
    return raw if len(raw) >= 32 else None


def match_key_set(agreement: Agreement, text: str | None = None) -> str:
    """Store the agreed match key (a new random one when ``text`` is None); return it."""
    if text is None:
        text = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) < 32:
        raise ValidationError({"key": [_("A match key is at least 32 bytes, in base64.")]})
    path = match_key_path(agreement)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.strip() + "\n")
    path.chmod(0o600)
    return text.strip()


def installation() -> str:
    """This installation's code as its partners know it ('' without a [federation])."""
    model = CooperationModel.objects.first()
    federation = (model.settings or {}).get("federation") if model else None
    return (federation or {}).get("installation", "")


# --- who may act, what may cross ----------------------------------------------------------


def acting_organisations(actor, agreement: Agreement) -> set[int]:
    """The actor's organisations under the agreement (as a partner counsellor or
    coordinator of one of the agreement's organisations)."""
    listed = set(agreement.organisations.values_list("pk", flat=True))
    return organisations_with(actor, PARTNER_ROLES) & listed


def _require_agreement(actor, agreement: Agreement, purpose: str, direction: str = "send"):
    if not acting_organisations(actor, agreement):
        raise PermissionDenied(_("denied: you do not act under this federation agreement"))
    if not agreement.in_force():
        raise ValidationError({"agreement": [_("This federation agreement is not in force.")]})
    term = selectors.term_for(agreement, direction, purpose)
    if term is None:
        raise ValidationError(
            {"agreement": [_("The agreement does not allow this with the partner installation.")]}
        )
    return term


# --- sending ------------------------------------------------------------------------------


def _compose(agreement: Agreement, type: str, body: dict, **fields) -> dict:
    return protocol.compose(
        type=type,
        agreement=agreement.code,
        sender=installation(),
        recipient=agreement.partner,
        body=body,
        **fields,
    )


def _post(agreement: Agreement, raw: bytes) -> tuple[int, bytes]:
    url = agreement.address.rstrip("/") + "/" + INBOX_PATH
    try:
        response = requests.post(
            url,
            data=raw,
            headers={"Content-Type": "application/json"},
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException:
        raise PartnerUnavailable("unreachable") from None
    return response.status_code, response.content


def _answer(agreement: Agreement, message: dict, status: int, raw: bytes) -> tuple[dict, str]:
    """Check the partner's answer to ``message``: signed by the partner, addressed to us,
    answering this message with a type it may answer it with (or a refusal)."""
    if status >= 500:
        raise PartnerUnavailable("server_error")
    try:
        answer, signature = protocol.open_wire(raw)
        envelope = protocol.envelope_of(answer)
        protocol.verify(answer, signature, protocol.public_key_from_text(agreement.public_key))
        body = protocol.body_of(envelope)
    except (Refused, ValueError):
        raise PartnerUnavailable("bad_answer") from None
    if (
        envelope.sender != agreement.partner
        or envelope.recipient != message["sender"]
        or envelope.in_reply_to != protocol.message_hash(message)
        or envelope.type not in (*protocol.REQUESTS[message["type"]], "refusal")
    ):
        raise PartnerUnavailable("bad_answer")
    if envelope.type == "refusal":
        raise PartnerRefused(body.code, dict(body.reason))
    return answer, protocol.message_hash(answer)


def _audit_message(record: Message, *, outcome: str = Outcome.OK, actor=None) -> None:
    audit_record(
        actor=actor if actor is not None else record.actor,
        action=f"federation.message.{'send' if record.direction == Direction.OUT else 'receive'}",
        obj=record,
        outcome=outcome,
        details={
            "agreement": record.agreement.code if record.agreement_id else None,
            "partner": record.partner,
            "type": record.type,
            "message": record.hash,
            "answer": record.answer_hash or None,
            "status": record.status,
            "refusal": record.refusal_code or None,
            "error": record.last_error or None,
            "categories": record.categories,
            "case": record.case_id,
        },
    )


def _exchange(
    *, actor, agreement: Agreement, type: str, body: dict, case: Case | None = None
) -> protocol._Strict:
    """Send a request that is answered at once; record it either way; return the answer."""
    key = signing_key()
    message = _compose(agreement, type, body)
    raw = protocol.seal(message, key)
    record = Message(
        agreement=agreement,
        partner=agreement.partner,
        direction=Direction.OUT,
        message_id=message["id"],
        type=type,
        hash=protocol.message_hash(message),
        case=case,
        actor=actor,
        sent_at=timezone.now(),
        attempts=1,
    )
    try:
        status, answer_raw = _post(agreement, raw)
        answer, answer_hash = _answer(agreement, message, status, answer_raw)
    except PartnerUnavailable as failure:
        record.status, record.last_error = Message.Status.REFUSED, failure.reason
        with transaction.atomic():
            record.save()
            _audit_message(record)
        raise
    except PartnerRefused as refusal:
        record.status, record.refusal_code = Message.Status.REFUSED, refusal.code
        with transaction.atomic():
            record.save()
            _audit_message(record, outcome=Outcome.DENIED)
        raise
    record.status, record.answer_hash = Message.Status.DELIVERED, answer_hash
    record.delivered_at = timezone.now()
    with transaction.atomic():
        record.save()
        _audit_message(record)
    return protocol.BODIES[answer["type"]].model_validate(answer["body"])


def consult(*, actor, agreement: Agreement, postcode: str, language: str = "", age_band=""):
    """Ask the partner, without naming anyone, whether it can take a case with these
    features; the answer lists its organisations that cover the place."""
    _require_agreement(actor, agreement, "consultation")
    try:
        body = protocol.ConsultationBody(
            postcode=postcode, language=language or "", age_band=age_band or "unknown"
        ).model_dump(mode="json")
    except PydanticValidationError as exc:
        raise ValidationError(_fields(exc)) from None
    return _exchange(actor=actor, agreement=agreement, type="consultation", body=body)


def _fields(exc) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error.get("loc") else "__all__"
        errors.setdefault(name, []).append(_("This value is not valid."))
    return errors


def match(*, actor, agreement: Agreement, case: Case) -> str:
    """Ask whether the partner has an open case of this person, sending only keyed
    digests of the name and date of birth; return "match", "possible" or "none"."""
    _require_agreement(actor, agreement, "match")
    require(decide(actor, Action.CHANGE, case))
    identity, _related = case_selectors.case_identity(actor, case)
    if identity is None:
        raise PermissionDenied(_("denied: your scope in this case does not include identity"))
    key = match_key(agreement)
    if key is None:
        raise ValidationError(
            {"agreement": [_("No match key has been agreed for this partnership yet.")]}
        )
    digests = protocol.match_digests(
        key, identity["first_name"], identity["last_name"], identity["date_of_birth"]
    )
    if not digests:
        raise ValidationError(
            {"case": [_("A match needs the person's last name and date of birth in the case.")]}
        )
    answer = _exchange(
        actor=actor, agreement=agreement, type="match", body={"digests": digests}, case=case
    )
    return answer.result


def _enqueue(
    *,
    actor,
    agreement: Agreement,
    type: str,
    body: dict,
    thread: str,
    case: Case | None,
    categories: list[str] | None = None,
    legal_basis: str = "",
) -> Message:
    """Put a message in the outbox; it leaves when the transaction commits."""
    message = _compose(agreement, type, body, thread=thread)
    record = Message.objects.create(
        agreement=agreement,
        partner=agreement.partner,
        direction=Direction.OUT,
        message_id=message["id"],
        thread=thread,
        type=type,
        hash=protocol.message_hash(message),
        status=Message.Status.PENDING,
        categories=categories or [],
        legal_basis=legal_basis,
        case=case,
        actor=actor,
        envelope=protocol.seal(message, signing_key()).decode("utf-8"),
        next_attempt_at=timezone.now(),
    )
    audit_record(
        actor=actor,
        action="federation.message.queue",
        obj=record,
        details={"agreement": agreement.code, "type": type, "message": record.hash},
    )
    agreement_id = agreement.pk
    transaction.on_commit(lambda: deliver_pending(agreement_id=agreement_id))
    return record


def deliver_pending(
    *, agreement_id: int | None = None, now=None, early: bool = False
) -> dict[str, int]:
    """Deliver the outbox in order, per agreement; stop an agreement at its first message
    the partner could not take now (it is tried again later, keeping the order).

    ``early``: try messages waiting for their next attempt now (an operator who knows the
    partner is back)."""
    now = now or timezone.now()
    counts = {"delivered": 0, "refused": 0, "waiting": 0}
    pending = Message.objects.filter(direction=Direction.OUT, status=Message.Status.PENDING)
    if agreement_id is not None:
        pending = pending.filter(agreement_id=agreement_id)
    for agreement_pk in sorted(set(pending.values_list("agreement_id", flat=True))):
        queue = pending.filter(agreement_id=agreement_pk).order_by("created_at", "pk")
        for record in queue.select_related("agreement"):
            if not early and record.next_attempt_at and record.next_attempt_at > now:
                counts["waiting"] += 1
                break
            result = _deliver(record, now)
            counts[result] += 1
            if result == "waiting":
                break
    return counts


def _deliver(record: Message, now) -> str:
    agreement = record.agreement
    message = json.loads(record.envelope)["message"]
    record.attempts += 1
    record.sent_at = record.sent_at or now
    try:
        if not agreement.in_force():
            raise PartnerRefused("agreement_not_in_force", {})
        status, raw = _post(agreement, record.envelope.encode("utf-8"))
        answer, answer_hash = _answer(agreement, message, status, raw)
    except PartnerUnavailable as failure:
        delay = min(FIRST_RETRY * (2 ** min(record.attempts - 1, 10)), LONGEST_RETRY)
        record.last_error, record.next_attempt_at = failure.reason, now + delay
        record.save(update_fields=["attempts", "sent_at", "last_error", "next_attempt_at"])
        logger.info("federation delivery deferred (%s)", failure.reason)
        return "waiting"
    except PartnerRefused as refusal:
        with transaction.atomic():
            record.status, record.refusal_code = Message.Status.REFUSED, refusal.code
            record.next_attempt_at = None
            record.save()
            _on_refused(record)
            _audit_message(record, outcome=Outcome.DENIED)
        return "refused"
    with transaction.atomic():
        record.status, record.answer_hash = Message.Status.DELIVERED, answer_hash
        record.answer = protocol.canonical(answer).decode("utf-8")
        record.delivered_at, record.next_attempt_at, record.last_error = timezone.now(), None, ""
        record.save()
        _audit_message(record)
        _on_answer(record, answer)
    return "delivered"


def _on_refused(record: Message) -> None:
    """A handover message the partner refused ends the handover on this side."""
    if record.thread and record.type in ("handover_request", "disclosure"):
        CrossHandover.objects.filter(
            agreement=record.agreement, direction=Direction.OUT, thread=record.thread
        ).exclude(status=CrossHandover.Status.COMPLETED).update(
            status=CrossHandover.Status.REFUSED, decided_at=timezone.now()
        )


def _on_answer(record: Message, answer: dict) -> None:
    """The receipt of a disclosure completes the handover: the case is closed here with
    the agreement's closing reason (the sender's seat ends; the partner leads now)."""
    if answer["type"] != "receipt":
        return
    handover = CrossHandover.objects.select_related("case").get(
        agreement=record.agreement, direction=Direction.OUT, thread=record.thread
    )
    handover.status, handover.completed_at = CrossHandover.Status.COMPLETED, timezone.now()
    handover.partner_reference = handover.partner_reference or answer["body"]["reference"]
    handover.save(update_fields=["status", "completed_at", "partner_reference"])
    case = handover.case
    if case is None or case.status != Case.Status.OPEN:
        return
    reason = Term.objects.of("case_closing_reason").filter(code=record.agreement.closing_reason)
    try:
        with transaction.atomic():
            case_services.case_close(actor=record.actor, case=case, closing_reason=reason.first())
    except (ValidationError, PermissionDenied):
        # the partner has the case; closing it here is left to its lead (the page says so)
        audit_record(
            actor=record.actor,
            action="federation.handover.close",
            obj=handover,
            outcome=Outcome.DENIED,
            details={"case": case.number, "closing_reason": record.agreement.closing_reason},
        )


# --- handovers this installation asks for -------------------------------------------------


def _thread() -> str:
    return str(uuid.uuid4())


@transaction.atomic
def handover_propose(
    *,
    actor,
    agreement: Agreement,
    case: Case,
    postcode: str,
    language: str = "",
    reason: str,
    categories: list[str],
    consent_note: str = "",
    justification: str = "",
) -> CrossHandover:
    """The lead asks the partner installation to take the case over. What will be sent
    on acceptance is named now: categories the agreement lets cross, on the agreement's
    legal basis (with the person's consent, or a written justification)."""
    demand(
        "federation.handover.propose",
        actor=actor,
        emergency=emergency_access_of(actor, case.pk) is not None,
        obj=case,
    )
    term = _require_agreement(actor, agreement, "handover")
    require(decide(actor, Action.CHANGE, case))
    errors: dict[str, list[str]] = {}
    if case.status != Case.Status.OPEN:
        errors["case"] = [_("Only an open case can be handed over.")]
    elif selectors.open_handover(case):
        errors["case"] = [_("This case already has an open handover to a partner installation.")]
    categories = list(dict.fromkeys(categories or []))
    allowed = set(term["categories"]) - selectors.kept_from(term)
    if not categories:
        errors["categories"] = [_("Choose what is to be sent when the partner accepts.")]
    elif not set(categories) <= allowed:
        errors["categories"] = [
            _("The agreement lets only these categories cross: %(categories)s.")
            % {"categories": ", ".join(sorted(allowed))}
        ]
    if not reason.strip():
        errors["reason"] = [_("Say why the case moves to the partner installation.")]
    basis = selectors.legal_basis_of(term["legal_basis"])
    on_consent = selectors.on_consent(term)
    if on_consent and not consent_note.strip():
        errors["consent_note"] = [_("Say how the person consented to the handover.")]
    if not on_consent and not justification.strip():
        errors["justification"] = [_("Write the justification for the handover on this basis.")]
    body = {
        "pseudonym": case.pseudonym,
        "reference": case.number,
        "postcode": postcode,
        "language": language or "",
        "reason": reason,
        "categories": categories,
        "legal_basis": basis.attributes.get("citation", term["legal_basis"])
        if basis
        else term["legal_basis"],
        "consent_note": consent_note.strip()[:300] if on_consent else "",
        "justification": justification.strip() if not on_consent else "",
    }
    if not errors:
        try:
            protocol.HandoverRequestBody.model_validate(body)
        except PydanticValidationError as exc:
            errors.update(_fields(exc))
    if errors:
        raise ValidationError(errors)
    thread = _thread()
    handover = CrossHandover.objects.create(
        agreement=agreement,
        direction=Direction.OUT,
        thread=thread,
        status=CrossHandover.Status.REQUESTED,
        case=case,
        categories=categories,
        consent_note=body["consent_note"],
        legal_basis=term["legal_basis"],
        justification=body["justification"],
        reason=reason.strip(),
        postcode=postcode.strip(),
        language=language or "",
        pseudonym=case.pseudonym,
        requested_by=actor,
    )
    _enqueue(
        actor=actor,
        agreement=agreement,
        type="handover_request",
        body=body,
        thread=thread,
        case=case,
        categories=categories,
        legal_basis=term["legal_basis"],
    )
    audit_record(
        actor=actor,
        action="federation.handover.propose",
        obj=handover,
        details={"agreement": agreement.code, "case": case.number, "categories": categories},
    )
    return handover


def _require_handover(actor, handover: CrossHandover, direction: str, status: str) -> None:
    if handover.direction != direction:
        raise PermissionDenied(_("denied: this handover is not yours to answer"))
    if direction == Direction.OUT:
        require(decide(actor, Action.CHANGE, handover.case))
    elif not acting_organisations(actor, handover.agreement):
        raise PermissionDenied(_("denied: you do not act under this federation agreement"))
    if handover.status != status:
        raise ValidationError({"status": [_("This handover is no longer at that step.")]})


@transaction.atomic
def handover_withdraw(*, actor, handover: CrossHandover, reason: str = "") -> CrossHandover:
    _require_handover(actor, handover, Direction.OUT, CrossHandover.Status.REQUESTED)
    handover.status, handover.decided_at = CrossHandover.Status.WITHDRAWN, timezone.now()
    handover.decided_by = actor
    handover.save(update_fields=["status", "decided_at", "decided_by"])
    _enqueue(
        actor=actor,
        agreement=handover.agreement,
        type="withdrawal",
        body={"reason": reason.strip()[:500]},
        thread=handover.thread,
        case=handover.case,
    )
    return handover


@transaction.atomic
def handover_disclose(*, actor, handover: CrossHandover) -> Message:
    """After the partner accepted, send what the request named: the person's identity
    and the case's entries of those categories that the actor may read here."""
    demand(
        "federation.handover.disclose",
        actor=actor,
        emergency=bool(handover.case_id)
        and emergency_access_of(actor, handover.case_id) is not None,
        obj=handover,
    )
    _require_handover(actor, handover, Direction.OUT, CrossHandover.Status.ACCEPTED)
    if selectors.disclosure_sent(handover):
        raise ValidationError({"status": [_("The case's information has been sent already.")]})
    term = selectors.term_for(handover.agreement, "send", "handover")
    allowed = set(term["categories"]) - selectors.kept_from(term) if term else set()
    categories = [code for code in handover.categories if code in allowed]
    if not categories:
        raise ValidationError(
            {"categories": [_("The agreement no longer lets any of the named categories cross.")]}
        )
    case = handover.case
    items: list[dict] = []
    if "identity" in categories:
        identity, _related = case_selectors.case_identity(actor, case)
        if identity:
            items.append({"category": "identity", "identity": identity})
    for entry in case_selectors.case_entries(actor, case):
        if entry.category.code in categories and entry.category.code != "identity":
            items.append(
                {
                    "category": entry.category.code,
                    "title": entry.title,
                    "text": entry.text,
                    "occurred_on": entry.occurred_on.isoformat(),
                }
            )
    if not items:
        items.append({"category": categories[0]})
    return _enqueue(
        actor=actor,
        agreement=handover.agreement,
        type="disclosure",
        body={"items": items},
        thread=handover.thread,
        case=case,
        categories=sorted({item["category"] for item in items}),
        legal_basis=term["legal_basis"] if term else "",
    )


# --- handovers the partner asks this installation for -------------------------------------


@transaction.atomic
def handover_accept(
    *, actor, handover: CrossHandover, organisation: Organisation | None
) -> CrossHandover:
    """Take the case over: a case opens here under this installation's model, led by the
    actor's organisation with the actor as lead worker; the partner hears it."""
    _require_handover(actor, handover, Direction.IN, CrossHandover.Status.REQUESTED)
    listed = {o.pk for o in selectors.receiving_organisations(actor, handover.agreement)}
    if organisation is None or organisation.pk not in listed:
        raise ValidationError(
            {
                "organisation": [
                    _(
                        "Choose your counselling organisation under the agreement, in the "
                        "sector that receives handovers: the case opens there with you as "
                        "lead worker."
                    )
                ]
            }
        )
    case = case_services.case_open(actor=actor, owner=organisation, pseudonym=handover.pseudonym)
    handover.status, handover.case, handover.organisation = (
        CrossHandover.Status.ACCEPTED,
        case,
        organisation,
    )
    handover.decided_by, handover.decided_at = actor, timezone.now()
    handover.save(update_fields=["status", "case", "organisation", "decided_by", "decided_at"])
    _enqueue(
        actor=actor,
        agreement=handover.agreement,
        type="acceptance",
        body={"organisation": organisation.name, "reference": case.number},
        thread=handover.thread,
        case=case,
    )
    audit_record(
        actor=actor,
        action="federation.handover.accept",
        obj=handover,
        details={"agreement": handover.agreement.code, "case": case.number},
    )
    return handover


@transaction.atomic
def handover_decline(*, actor, handover: CrossHandover, reason: str) -> CrossHandover:
    _require_handover(actor, handover, Direction.IN, CrossHandover.Status.REQUESTED)
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the handover is declined.")]})
    handover.status, handover.decline_reason = CrossHandover.Status.DECLINED, reason.strip()[:500]
    handover.decided_by, handover.decided_at = actor, timezone.now()
    handover.save(update_fields=["status", "decline_reason", "decided_by", "decided_at"])
    _enqueue(
        actor=actor,
        agreement=handover.agreement,
        type="decline",
        body={"reason": handover.decline_reason},
        thread=handover.thread,
        case=None,
    )
    return handover


# --- receiving ----------------------------------------------------------------------------


def receive(raw: bytes) -> tuple[int, bytes]:
    """Take one message from a partner; return the HTTP status and the signed answer.

    Checks, in order: the form and version, the recipient, the agreement and the
    signature, the agreement's term, the time, a replay, the body's schema, what the
    agreement lets cross, the handover's order, and this model's acceptance of each
    item. A refusal stores nothing but its record.
    """
    key = signing_key()
    me = installation()
    message: dict = {}
    agreement = None
    try:
        message, signature = protocol.open_wire(raw)
        envelope = protocol.envelope_of(message)
        if not me or envelope.recipient != me:
            raise Refused("wrong_recipient")
        partners = Agreement.objects.filter(partner=envelope.sender)
        if not partners.exists():
            raise Refused("unknown_partner")
        agreement = partners.filter(code=envelope.agreement).first()
        if agreement is None:
            raise Refused("agreement_not_in_force")
        try:
            public = protocol.public_key_from_text(agreement.public_key)
        except ValueError:
            raise Refused("bad_signature") from None
        protocol.verify(message, signature, public)
        if not agreement.in_force():
            raise Refused("agreement_not_in_force")
        protocol.check_time(envelope)
        digest = protocol.message_hash(message)
        earlier = selectors.received(envelope.sender, envelope.id)
        if earlier is not None:
            if earlier.hash != digest:
                raise Refused("replayed")
            return _repeat(earlier)
        if envelope.type not in protocol.REQUESTS:
            raise Refused("out_of_order")
        body = protocol.body_of(envelope)
        _check_terms(agreement, envelope, body)
        try:
            with transaction.atomic():
                return _take(agreement, envelope, body, message, raw, key)
        except IntegrityError:  # the same message at the same moment: answer as the first
            earlier = selectors.received(envelope.sender, envelope.id)
            if earlier is None or earlier.hash != digest:
                raise Refused("replayed") from None
            return _repeat(earlier)
    except Refused as refusal:
        return _refuse(refusal, message, raw, agreement, key, me)


def _check_terms(agreement: Agreement, envelope: protocol.Envelope, body) -> None:
    purpose = protocol.PURPOSES[envelope.type]
    # acceptance and decline answer a handover this side asked for: its send term
    direction = "send" if envelope.type in ("acceptance", "decline") else "receive"
    term = selectors.term_for(agreement, direction, purpose)
    if term is None:
        raise Refused("purpose_not_allowed")
    categories = set(protocol.categories_of(envelope.type, body))
    if not categories <= set(term["categories"]):
        raise Refused("category_not_allowed")
    if direction == "receive" and categories & selectors.kept_from(term):
        # this model keeps the category from the sector that would receive it here
        raise Refused("not_accepted")


def _repeat(earlier: Message) -> tuple[int, bytes]:
    audit_record(
        actor=None,
        action="federation.message.repeat",
        obj=earlier,
        details={"partner": earlier.partner, "type": earlier.type, "message": earlier.hash},
    )
    return 200, earlier.answer.encode("utf-8")


def _take(agreement, envelope, body, message: dict, raw: bytes, key) -> tuple[int, bytes]:
    answer_type, answer_body, case, categories = _apply(agreement, envelope, body)
    answer = protocol.compose(
        type=answer_type,
        agreement=agreement.code,
        sender=envelope.recipient,
        recipient=envelope.sender,
        body=answer_body,
        thread=envelope.thread,
        in_reply_to=protocol.message_hash(message),
    )
    wire = protocol.seal(answer, key)
    record = Message.objects.create(
        agreement=agreement,
        partner=envelope.sender,
        direction=Direction.IN,
        message_id=envelope.id,
        thread=envelope.thread,
        type=envelope.type,
        hash=protocol.message_hash(message),
        answer_hash=protocol.message_hash(answer),
        status=Message.Status.RECEIVED,
        categories=categories,
        legal_basis=(body.legal_basis if envelope.type == "handover_request" else ""),
        case=case,
        # a person match keeps no digest: nothing about a person who did not match stays
        envelope="" if envelope.type == "match" else raw.decode("utf-8"),
        answer=wire.decode("utf-8"),
        sent_at=envelope.sent_at,
        delivered_at=timezone.now(),
    )
    _audit_message(record)
    return 200, wire


def _refuse(refusal: Refused, message: dict, raw: bytes, agreement, key, me) -> tuple[int, bytes]:
    def text(name: str, pattern: str = r"^[a-z0-9][a-z0-9_-]*$") -> str:
        value = message.get(name) if isinstance(message, dict) else None
        return value if isinstance(value, str) and re.match(pattern, value) else ""

    sender = text("sender")[:64]
    record = Message.objects.create(
        agreement=agreement,
        partner=sender,
        direction=Direction.IN,
        message_id=text("id", r"^[0-9a-f-]{36}$"),
        thread=text("thread", r"^[0-9a-f-]{36}$"),
        type=text("type")[:32],
        hash=hashlib.sha256(raw).hexdigest(),
        status=Message.Status.REFUSED,
        refusal_code=refusal.code,
    )
    _audit_message(record, outcome=Outcome.DENIED)
    answer = protocol.compose(
        type="refusal",
        agreement=text("agreement")[:64] or "unknown",
        sender=me or "unknown",
        recipient=sender or "unknown",
        body=protocol.refusal_body(refusal.code),
        in_reply_to=protocol.message_hash(message) if message else "",
    )
    return refusal.status, protocol.seal(answer, key)


def _apply(agreement: Agreement, envelope, body) -> tuple[str, dict, Case | None, list[str]]:
    """Do what a message asks; raise ``Refused`` (rolling everything back) when it cannot."""
    kind = envelope.type
    if kind == "consultation":
        return "consultation_reply", selectors.consultation_reply(agreement, body), None, []
    if kind == "match":
        refresh_digests(agreement)
        result, case = selectors.match_result(agreement, body.digests)
        return "match_reply", {"result": result}, case, []
    if not envelope.thread:
        raise Refused("out_of_order")
    ours = kind in ("acceptance", "decline")  # an answer to a handover this side asked for
    direction = Direction.OUT if ours else Direction.IN
    handover = (
        # of=self: PostgreSQL locks no row on the nullable side of the outer joins that
        # select_related makes (case, organisation and decider are empty until accepted)
        CrossHandover.objects.select_for_update(of=("self",))
        .filter(agreement=agreement, direction=direction, thread=envelope.thread)
        .select_related("case", "organisation__type__sector", "decided_by")
        .first()
    )
    status = protocol.next_status(handover.status if handover else None, kind)
    if status is None:
        raise Refused("out_of_order")
    categories = protocol.categories_of(kind, body)
    if kind == "handover_request":
        handover = CrossHandover.objects.create(
            agreement=agreement,
            direction=Direction.IN,
            thread=envelope.thread,
            status=status,
            categories=list(body.categories),
            consent_note=body.consent_note,
            legal_basis=body.legal_basis,
            justification=body.justification,
            reason=body.reason,
            postcode=body.postcode,
            language=body.language,
            pseudonym=body.pseudonym,
            partner_reference=body.reference,
        )
        return "ack", {"status": "received"}, None, categories
    handover.status = status
    if kind == "acceptance":
        handover.partner_reference = body.reference
        handover.decided_at = timezone.now()
        handover.save(update_fields=["status", "partner_reference", "decided_at"])
    elif kind == "decline":
        handover.decline_reason, handover.decided_at = body.reason, timezone.now()
        handover.save(update_fields=["status", "decline_reason", "decided_at"])
    elif kind == "withdrawal":
        handover.decided_at = timezone.now()
        handover.save(update_fields=["status", "decided_at"])
    else:  # disclosure
        count = _store_items(handover, body.items)
        handover.completed_at = timezone.now()
        handover.save(update_fields=["status", "completed_at"])
        return (
            "receipt",
            {"items": count, "reference": handover.case.number},
            handover.case,
            (categories),
        )
    return "ack", {"status": "received"}, handover.case, categories


def _store_items(handover: CrossHandover, items) -> int:
    """The disclosed items become the new case's information, written by its lead worker
    under this installation's model: an item the lead's scope here cannot hold refuses
    the whole message."""
    announced = set(handover.categories)
    lead, case = handover.decided_by, handover.case
    categories = {t.code: t for t in Term.objects.of("information_category")}
    partner = handover.agreement.partner_labels.get("en") or handover.agreement.partner
    try:
        for item in items:
            category = categories.get(item.category)
            if item.category not in announced:
                raise Refused("category_not_allowed")
            if category is None or not may_write(lead, case, category):
                raise Refused("not_accepted")
            if item.identity is not None:
                if item.category != "identity":
                    raise Refused("not_accepted")
                case_services.case_update(
                    actor=lead,
                    case=case,
                    identity={k: v for k, v in item.identity.model_dump().items() if v},
                )
            elif item.title or item.text:
                case_services.entry_create(
                    actor=lead,
                    case=case,
                    data=case_services.EntryData(
                        kind="note",
                        category=category,
                        title=(
                            _("From %(partner)s: %(title)s")
                            % {"partner": partner, "title": item.title or "—"}
                        )[:200],
                        text=item.text,
                        occurred_on=item.occurred_on,
                    ),
                )
    except (ValidationError, PermissionDenied):
        raise Refused("not_accepted") from None
    return len(items)


# --- upkeep -------------------------------------------------------------------------------


def scrub_expired(now=None) -> int:
    """Empty the copies of messages past their agreement's period; the record stays."""
    now = now or timezone.now()
    done = 0
    for agreement in Agreement.objects.all():
        cutoff = now - timedelta(days=agreement.copies_kept_days)
        done += (
            Message.objects.filter(agreement=agreement, created_at__lt=cutoff)
            .exclude(status=Message.Status.PENDING)
            .filter(scrubbed_at__isnull=True)
            .update(envelope="", answer="", scrubbed_at=now)
        )
    return done


def refresh_digests(agreement: Agreement) -> int:
    """Bring the agreement's match digests up to date with the open cases' identities."""
    key = match_key(agreement)
    if key is None:
        return 0
    current = selectors.matchable_cases(agreement)
    known = selectors.digest_sources(agreement)
    gone = set(known) - set(current)
    stale = [case_id for case_id, source in current.items() if known.get(case_id) != source]
    with transaction.atomic():
        if gone or stale:
            MatchDigest.objects.filter(agreement=agreement, case_id__in=[*gone, *stale]).delete()
        rows = []
        for case_id, identity in selectors.identities(stale):
            digests = protocol.match_digests(
                key, identity["first_name"], identity["last_name"], identity["date_of_birth"]
            ) or {"none": ""}
            rows.extend(
                MatchDigest(
                    agreement=agreement,
                    case_id=case_id,
                    kind=kind,
                    digest=digest,
                    source=current[case_id],
                )
                for kind, digest in digests.items()
            )
        MatchDigest.objects.bulk_create(rows, batch_size=2000)
    return len(stale)
