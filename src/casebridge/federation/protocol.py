"""The protocol between installations: versioned, signed JSON messages (issue 22).

Pure: no database, no settings. A message on the wire is ``{"message": {...},
"signature": "<base64>"}``; the signature is Ed25519 over the message's canonical JSON
(keys sorted, no spaces, UTF-8), and the message's hash, which both installations
record in their audit chains, is the SHA-256 of the same bytes.

Person match: identity fields are normalised and digested with HMAC-SHA256 under a key
the two installations agreed for their partnership; a digest says nothing to anyone
without that key, and the answering side looks it up among its own digests only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import unicodedata
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

PROTOCOL = "casebridge-federation"
VERSIONS = (1,)
MAX_BYTES = 1_000_000
# A message older than this is refused as stale (a replay store needs a horizon), and one
# from further in the future than the skew, too.
MAX_AGE = timedelta(days=7)
MAX_SKEW = timedelta(minutes=5)

Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
Hash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- bodies, one per message type ---------------------------------------------------------


class ConsultationBody(_Strict):
    """Anonymous: "we have a case with these features, can you take it?" No identity."""

    postcode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
    language: Annotated[str, StringConstraints(pattern=r"^([a-z]{2})?$")] = ""
    age_band: Literal["under_14", "14_17", "18_26", "27_plus", "unknown"] = "unknown"


class Offer(_Strict):
    organisation: Short
    city: Short = ""
    free_places: int = Field(ge=-10_000, le=10_000)
    language_ok: bool = True


class ConsultationReplyBody(_Strict):
    covered: bool
    region: Short = ""
    organisations: list[Offer] = Field(default=[], max_length=10)


class MatchDigests(_Strict):
    full: Hash | None = None
    surname_birth: Hash | None = None


class MatchBody(_Strict):
    digests: MatchDigests


class MatchReplyBody(_Strict):
    result: Literal["match", "possible", "none"]


class HandoverRequestBody(_Strict):
    pseudonym: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    reference: Annotated[str, StringConstraints(max_length=40)] = ""
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
    language: Annotated[str, StringConstraints(pattern=r"^([a-z]{2})?$")] = ""
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    categories: list[Code] = Field(min_length=1, max_length=20)
    # the sender's basis: how the person consented, or its legal basis and justification
    legal_basis: Short
    consent_note: Annotated[str, StringConstraints(max_length=300)] = ""
    justification: Annotated[str, StringConstraints(max_length=2000)] = ""


class AcceptanceBody(_Strict):
    organisation: Short
    reference: Annotated[str, StringConstraints(max_length=40)] = ""


class DeclineBody(_Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class WithdrawalBody(_Strict):
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class Identity(_Strict):
    first_name: Annotated[str, StringConstraints(max_length=120)] = ""
    last_name: Annotated[str, StringConstraints(max_length=120)] = ""
    date_of_birth: Annotated[str, StringConstraints(pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = ""
    address: Annotated[str, StringConstraints(max_length=500)] = ""


class Item(_Strict):
    """One item disclosed: the person's identity, or one entry of the case."""

    category: Code
    identity: Identity | None = None
    title: Annotated[str, StringConstraints(max_length=200)] = ""
    text: Annotated[str, StringConstraints(max_length=20_000)] = ""
    occurred_on: date | None = None


class DisclosureBody(_Strict):
    items: list[Item] = Field(min_length=1, max_length=500)


class ReceiptBody(_Strict):
    items: int = Field(ge=0)
    reference: Annotated[str, StringConstraints(max_length=40)] = ""


class AckBody(_Strict):
    status: Literal["received", "duplicate"]


class RefusalBody(_Strict):
    code: Code
    reason: dict[str, Annotated[str, StringConstraints(max_length=500)]]
    versions: list[int] = []


BODIES: dict[str, type[_Strict]] = {
    "consultation": ConsultationBody,
    "consultation_reply": ConsultationReplyBody,
    "match": MatchBody,
    "match_reply": MatchReplyBody,
    "handover_request": HandoverRequestBody,
    "acceptance": AcceptanceBody,
    "decline": DeclineBody,
    "withdrawal": WithdrawalBody,
    "disclosure": DisclosureBody,
    "receipt": ReceiptBody,
    "ack": AckBody,
    "refusal": RefusalBody,
}
# What a side may send as a request, and what the other answers it with.
REQUESTS = {
    "consultation": ("consultation_reply",),
    "match": ("match_reply",),
    "handover_request": ("ack",),
    "acceptance": ("ack",),
    "decline": ("ack",),
    "withdrawal": ("ack",),
    "disclosure": ("receipt",),
}
# The agreement's purpose a request serves (``send``/``receive`` entries name purposes).
PURPOSES = {
    "consultation": "consultation",
    "match": "match",
    "handover_request": "handover",
    "acceptance": "handover",
    "decline": "handover",
    "withdrawal": "handover",
    "disclosure": "handover",
}
MessageType = Literal[
    "consultation",
    "consultation_reply",
    "match",
    "match_reply",
    "handover_request",
    "acceptance",
    "decline",
    "withdrawal",
    "disclosure",
    "receipt",
    "ack",
    "refusal",
]


class Envelope(_Strict):
    protocol: Literal["casebridge-federation"]
    version: int
    id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f-]{36}$")]
    type: MessageType
    agreement: Code
    sender: Code
    recipient: Code
    sent_at: datetime
    thread: Annotated[str, StringConstraints(pattern=r"^([0-9a-f-]{36})?$")] = ""
    in_reply_to: Annotated[str, StringConstraints(pattern=r"^([0-9a-f]{64})?$")] = ""
    body: dict


class Wire(_Strict):
    message: dict
    signature: Annotated[str, StringConstraints(min_length=1, max_length=200)]


# --- handover threads ---------------------------------------------------------------------
# The state of a handover thread, and what may come next. ``ours``: the side that asked
# for the handover (its case leaves), ``theirs``: the side asked. A message out of this
# order is refused ("out_of_order") and changes nothing.
TRANSITIONS: dict[tuple[str | None, str], str] = {
    (None, "handover_request"): "requested",
    ("requested", "acceptance"): "accepted",
    ("requested", "decline"): "declined",
    ("requested", "withdrawal"): "withdrawn",
    ("accepted", "disclosure"): "completed",
}
# who sends each thread message: the requesting side or the side asked
SENT_BY_REQUESTER = {"handover_request", "withdrawal", "disclosure"}


def next_status(status: str | None, message_type: str) -> str | None:
    """The thread's status after ``message_type``, or None when it may not come now."""
    return TRANSITIONS.get((status, message_type))


# --- refusals both sides can read ---------------------------------------------------------
REFUSALS: dict[str, tuple[int, str, str]] = {
    "malformed": (
        400,
        "The message is not a signed casebridge federation message.",
        "Die Nachricht ist keine signierte casebridge-Föderationsnachricht.",
    ),
    "unsupported_version": (
        400,
        "This installation does not speak this version of the protocol.",
        "Diese Installation spricht diese Version des Protokolls nicht.",
    ),
    "invalid_body": (
        400,
        "The message's content does not follow the protocol's schema.",
        "Der Inhalt der Nachricht folgt nicht dem Schema des Protokolls.",
    ),
    "stale": (
        400,
        "The message was sent too long ago or claims a time in the future.",
        "Die Nachricht wurde vor zu langer Zeit gesendet oder nennt eine künftige Zeit.",
    ),
    "bad_signature": (
        401,
        "The message's signature does not verify with the partner's key.",
        "Die Signatur der Nachricht passt nicht zum Schlüssel der Partnerinstallation.",
    ),
    "unknown_partner": (
        403,
        "This installation has no federation agreement with the sender.",
        "Diese Installation hat keine Föderationsvereinbarung mit dem Absender.",
    ),
    "wrong_recipient": (
        403,
        "The message is addressed to another installation.",
        "Die Nachricht ist an eine andere Installation gerichtet.",
    ),
    "agreement_not_in_force": (
        403,
        "The federation agreement named is not in force.",
        "Die genannte Föderationsvereinbarung ist nicht in Kraft.",
    ),
    "purpose_not_allowed": (
        403,
        "The agreement does not allow this kind of message in this direction.",
        "Die Vereinbarung erlaubt diese Art Nachricht in dieser Richtung nicht.",
    ),
    "category_not_allowed": (
        403,
        "The message names an information category the agreement does not allow.",
        "Die Nachricht nennt eine Informationskategorie, die die Vereinbarung nicht erlaubt.",
    ),
    "not_accepted": (
        422,
        "This installation's cooperation model does not accept an item of the message.",
        "Das Kooperationsmodell dieser Installation nimmt einen Teil der Nachricht nicht an.",
    ),
    "replayed": (
        409,
        "A different message with this id was received before.",
        "Eine andere Nachricht mit dieser Kennung ist bereits eingegangen.",
    ),
    "out_of_order": (
        409,
        "The message does not fit the state of its handover.",
        "Die Nachricht passt nicht zum Stand ihrer Übergabe.",
    ),
}


def refusal_body(code: str) -> dict:
    _status, english, german = REFUSALS[code]
    body = {"code": code, "reason": {"en": english, "de": german}}
    if code == "unsupported_version":
        body["versions"] = list(VERSIONS)
    return body


class Refused(Exception):
    """A message this installation does not take; ``code`` is one of ``REFUSALS``."""

    def __init__(self, code: str):
        assert code in REFUSALS, code
        self.code = code
        self.status = REFUSALS[code][0]
        super().__init__(code)


# --- canonical form, hashes, signatures ---------------------------------------------------


def canonical(message: dict) -> bytes:
    return json.dumps(
        message, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def message_hash(message: dict) -> str:
    return hashlib.sha256(canonical(message)).hexdigest()


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A partner's key as the model file gives it (base64 of the 32 raw bytes)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def now_text(moment: datetime | None = None) -> str:
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def compose(
    *,
    type: str,
    agreement: str,
    sender: str,
    recipient: str,
    body: dict,
    thread: str = "",
    in_reply_to: str = "",
    sent_at: datetime | None = None,
    version: int = VERSIONS[-1],
) -> dict:
    """A new message (checked against its type's schema), not yet signed."""
    checked = BODIES[type].model_validate(body).model_dump(mode="json", exclude_defaults=False)
    return {
        "protocol": PROTOCOL,
        "version": version,
        "id": str(uuid.uuid4()),
        "type": type,
        "agreement": agreement,
        "sender": sender,
        "recipient": recipient,
        "sent_at": now_text(sent_at),
        "thread": thread,
        "in_reply_to": in_reply_to,
        "body": checked,
    }


def seal(message: dict, key: Ed25519PrivateKey) -> bytes:
    """The wire form of a message: the message and its signature, as JSON bytes."""
    signature = base64.b64encode(key.sign(canonical(message))).decode("ascii")
    return canonical({"message": message, "signature": signature})


def open_wire(raw: bytes) -> tuple[dict, bytes]:
    """Split wire bytes into the message and its signature; raise ``Refused`` when the
    bytes are not a message in any version (``malformed``) or not in one spoken here."""
    if len(raw) > MAX_BYTES:
        raise Refused("malformed")
    try:
        wire = Wire.model_validate_json(raw)
        signature = base64.b64decode(wire.signature, validate=True)
    except (ValidationError, binascii.Error, ValueError):
        raise Refused("malformed") from None
    # one spelling only: base64 leaves spare bits in its last character, and a signature
    # spelt otherwise would let changed wire bytes pass as the same message
    if base64.b64encode(signature).decode("ascii") != wire.signature:
        raise Refused("malformed")
    message = wire.message
    if message.get("protocol") != PROTOCOL:
        raise Refused("malformed")
    if message.get("version") not in VERSIONS:
        raise Refused("unsupported_version")
    try:
        canonical(message)
    except ValueError:
        raise Refused("malformed") from None
    return message, signature


def envelope_of(message: dict) -> Envelope:
    try:
        return Envelope.model_validate(message)
    except ValidationError:
        raise Refused("malformed") from None


def verify(message: dict, signature: bytes, key: Ed25519PublicKey) -> None:
    try:
        key.verify(signature, canonical(message))
    except InvalidSignature:
        raise Refused("bad_signature") from None


def check_time(envelope: Envelope, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    sent = envelope.sent_at if envelope.sent_at.tzinfo else envelope.sent_at.replace(tzinfo=UTC)
    if sent < now - MAX_AGE or sent > now + MAX_SKEW:
        raise Refused("stale")


def body_of(envelope: Envelope) -> _Strict:
    try:
        return BODIES[envelope.type].model_validate(envelope.body)
    except ValidationError:
        raise Refused("invalid_body") from None


def categories_of(message_type: str, body: _Strict) -> list[str]:
    """The information categories a message carries (or announces)."""
    if message_type == "handover_request":
        return list(dict.fromkeys(body.categories))
    if message_type == "disclosure":
        return list(dict.fromkeys(item.category for item in body.items))
    return []


# --- person match -------------------------------------------------------------------------
MATCH_KINDS = ("full", "surname_birth")


def normalise_name(value: str) -> str:
    """Letters only, without accents or case: "Ömer-Faruk  Yıldız" and "omerfaruk yildiz"
    digest alike."""
    decomposed = unicodedata.normalize("NFKD", value.casefold().replace("ı", "i"))
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z]", "", letters)


def normalise_date(value: str) -> str:
    value = value.strip()
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return ""


def match_digests(key: bytes, first_name: str, last_name: str, date_of_birth: str) -> dict:
    """The keyed digests of one person; a kind is left out when a field it needs is empty."""
    first, last = normalise_name(first_name), normalise_name(last_name)
    born = normalise_date(date_of_birth)
    parts = {"full": (first, last, born), "surname_birth": (last, born)}
    return {
        kind: hmac.new(
            key, f"casebridge-match/v1/{kind}/".encode() + "\x1f".join(fields).encode(), "sha256"
        ).hexdigest()
        for kind, fields in parts.items()
        if all(fields)
    }


def json_schemas() -> dict[str, dict]:
    """The published schemas: the wire form, the envelope and each type's body."""
    schemas = {"Wire": Wire.model_json_schema(), "Envelope": Envelope.model_json_schema()}
    for name, model in BODIES.items():
        schemas[name] = model.model_json_schema()
    return schemas
