"""A partner installation in the test process: its own key, its own answers.

``FakePartner.post`` stands in for the HTTP call this installation makes (it checks our
signature as a real partner would and answers with a message it signs); ``wire`` makes
messages the partner sends to our inbox, correct or spoiled as a test needs.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import date

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from casebridge.cooperation_models.models import CooperationModel
from casebridge.federation import protocol, services
from casebridge.federation.models import Agreement

ME = "de-test"
PARTNER = "nl-rotterdam"
AGREEMENT = "hamburg-rotterdam"
CATEGORIES = ["identity", "case_coordination", "counselling"]


def install(settings, tmp_path, organisations, *, categories=CATEGORIES, **fields) -> FakePartner:
    """Make this installation ``ME`` with an agreement with the fake partner."""
    settings.FEDERATION_DIR = tmp_path / "federation"
    services.init_keys()
    model = CooperationModel.objects.get()
    model.settings = {**model.settings, "federation": {"installation": ME, "name": {"en": ME}}}
    model.save(update_fields=["settings"])
    partner = FakePartner()
    terms = {
        direction: [
            {"purpose": "consultation", "categories": [], "legal_basis": "consent_gdpr"},
            {"purpose": "match", "categories": [], "legal_basis": "consent_gdpr"},
            {
                "purpose": "handover",
                "categories": list(categories),
                "legal_basis": "consent_gdpr",
                "partner_legal_basis": "AVG art. 6(1)(a)",
                "receiving_sector": "counselling_ngo",
            },
        ]
        for direction in ("send", "receive")
    }
    values = {
        "version": "2026.1",
        "partner": PARTNER,
        "partner_labels": {"en": "Rotterdam", "de": "Rotterdam"},
        "address": "http://127.0.0.1:9/",
        "public_key": protocol.public_key_text(partner.key.public_key()),
        "valid_from": date(2026, 1, 1),
        "copies_kept_days": 90,
        "closing_reason": "moved_away",
        "terms": terms,
        **fields,
    }
    partner.agreement = Agreement.objects.create(code=AGREEMENT, **values)
    partner.agreement.organisations.set(organisations)
    services.match_key_set(partner.agreement, base64.b64encode(b"k" * 32).decode())
    return partner


@dataclass
class FakePartner:
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    agreement: Agreement | None = None
    reachable: bool = True
    received: list[dict] = field(default_factory=list)
    # answers by type: (type, body) or a refusal code
    answers: dict = field(default_factory=dict)

    def post(self, agreement, raw: bytes):
        if not self.reachable:
            raise services.PartnerUnavailable("unreachable")
        message, signature = protocol.open_wire(raw)
        ours = services.signing_key().public_key()
        protocol.verify(message, signature, ours)
        self.received.append(message)
        kind = message["type"]
        answer = self.answers.get(kind) or _DEFAULT_ANSWERS[kind]
        if isinstance(answer, str):
            body, kind_out, status = protocol.refusal_body(answer), "refusal", 403
        else:
            (kind_out, body), status = answer, 200
        reply = protocol.compose(
            type=kind_out,
            agreement=message["agreement"],
            sender=PARTNER,
            recipient=ME,
            body=body,
            thread=message["thread"],
            in_reply_to=protocol.message_hash(message),
        )
        return status, protocol.seal(reply, self.key)

    def message(self, type: str, body: dict, **fields) -> dict:
        values = {
            "type": type,
            "agreement": AGREEMENT,
            "sender": PARTNER,
            "recipient": ME,
            "body": body,
        }
        values.update(fields)
        return protocol.compose(**values)

    def wire(self, message: dict, *, key: Ed25519PrivateKey | None = None) -> bytes:
        return protocol.seal(message, key or self.key)

    def send(self, client, message: dict, *, key=None, raw: bytes | None = None):
        """Post to our inbox; return (status, answer message)."""
        response = client.post(
            "/federation/v1/messages",
            data=raw if raw is not None else self.wire(message, key=key),
            content_type="application/json",
        )
        answer, signature = protocol.open_wire(response.content)
        protocol.verify(answer, signature, services.signing_key().public_key())
        return response.status_code, answer


def request_body(**overrides) -> dict:
    body = {
        "pseudonym": "R. aus Rotterdam",
        "reference": "NL-2026-0007",
        "postcode": "20095",
        "language": "de",
        "reason": "The family moved to Hamburg.",
        "categories": ["identity", "case_coordination"],
        "legal_basis": "AVG art. 6(1)(a)",
        "consent_note": "The person agreed in a meeting on 1 December.",
    }
    body.update(overrides)
    return body


def new_thread() -> str:
    return str(uuid.uuid4())


_DEFAULT_ANSWERS = {
    "consultation": (
        "consultation_reply",
        {"covered": True, "region": "Zuid-Holland", "organisations": []},
    ),
    "match": ("match_reply", {"result": "none"}),
    "handover_request": ("ack", {"status": "received"}),
    "acceptance": ("ack", {"status": "received"}),
    "decline": ("ack", {"status": "received"}),
    "withdrawal": ("ack", {"status": "received"}),
    "disclosure": ("receipt", {"items": 1, "reference": "NL-2026-0001"}),
}
