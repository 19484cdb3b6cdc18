"""Properties of the federation: whatever a partner sends and in whatever order, what is
stored here is what the agreement, the request and this model allow; what leaves is what
the agreement, the proposal and this model allow; and the wire form stands or falls whole.

The database properties run as hypothesis' Django test case (each example in its own
rolled-back transaction), with the fake partner of ``tests/federation/partner.py``.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from casebridge import facts
from casebridge.access.policy import may_write
from casebridge.cases.models import Case, Entry
from casebridge.cooperation_models.models import Term
from casebridge.federation import protocol, services
from casebridge.federation.models import CrossHandover, Message
from casebridge.network.models import Sector
from tests.builders import build_personas, build_world, entry, org
from tests.federation.partner import install, new_thread, request_body

# the German model's information categories, and one no model knows
CATEGORIES = [
    "case_coordination",
    "identity",
    "counselling",
    "risk_assessment",
    "security",
    "justice",
    "child_welfare",
    "health",
]
ANY_CATEGORY = st.sampled_from([*CATEGORIES, "weather"])
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# the status a handover thread may reach from another, by some message
REACHABLE = {(before, after) for (before, _kind), after in protocol.TRANSITIONS.items()}


def _handover_term(categories, sector: str) -> dict:
    return {
        "purpose": "handover",
        "categories": sorted(categories),
        "legal_basis": "consent_gdpr",
        "partner_legal_basis": "AVG art. 6(1)(a)",
        "receiving_sector": sector,
    }


class _Installation:
    """This installation, with the fake partner, for one example."""

    def __init__(self, testcase, terms: dict, *, world: bool = False, **fields):
        facts.changed()
        directory = Path(tempfile.mkdtemp(prefix="federation-"))
        self.settings = override_settings(FEDERATION_DIR=directory / "federation")
        self.settings.enable()
        testcase.addCleanup(self.settings.disable)
        testcase.addCleanup(facts.changed)
        self.personas = build_personas()
        self.world = build_world(self.personas) if world else None
        self.partner = install(
            SimpleNamespace(), directory, [org(self.personas.partner)], terms=terms, **fields
        )
        patch = mock.patch.object(services, "_post", self.partner.post)
        patch.start()
        testcase.addCleanup(patch.stop)
        self.client = testcase.client


def _kept(sector: str) -> set[str]:
    return set(Sector.objects.get(code=sector).never_by_scope)


def _counts() -> tuple[int, int, int, int]:
    return (
        CrossHandover.objects.count(),
        Case.objects.count(),
        Entry.objects.count(),
        Message.objects.count(),
    )


# --- (a) receiving ------------------------------------------------------------------------

THREAD = st.integers(0, 2)
ITEM = st.tuples(ANY_CATEGORY, st.booleans(), st.integers(0, 7))  # (category, as identity?, i)
STEPS = st.lists(
    st.one_of(
        # ``within``: the categories are mostly bent into the term (or the request), so
        # that messages get past the first check often enough to test the later ones
        st.tuples(
            st.just("request"), THREAD, st.sets(ANY_CATEGORY, min_size=1, max_size=4), st.booleans()
        ),
        st.tuples(st.just("accept"), THREAD),
        st.tuples(
            st.just("disclose"), THREAD, st.lists(ITEM, min_size=1, max_size=4), st.booleans()
        ),
        st.tuples(st.just("withdraw"), THREAD),
        st.tuples(st.just("repeat"), st.integers(0, 20)),
        st.tuples(st.just("stray"), st.sampled_from(["disclosure", "acceptance", "withdrawal"])),
        st.tuples(st.just("spoil"), st.integers(0, 20), st.integers(0, 10_000)),
    ),
    min_size=1,
    max_size=10,
)


def _item(category: str, as_identity: bool, _index: int = 0) -> dict:
    if as_identity:
        return {"category": category, "identity": {"first_name": "Rana", "last_name": "Voorbeeld"}}
    return {"category": category, "title": "From Rotterdam", "text": "Weekly talks."}


class Receiving(HypothesisTestCase):
    @SETTINGS
    @given(
        term=st.sets(st.sampled_from(CATEGORIES), min_size=1),
        sector=st.sampled_from(["counselling_ngo", "state_counselling", "security"]),
        expired=st.booleans(),
        steps=STEPS,
    )
    # counselling handed to this installation's security sector, which its model keeps
    @example(
        term={"counselling", "case_coordination"},
        sector="security",
        expired=False,
        steps=[
            ("request", 0, {"counselling"}, True),
            ("accept", 0),
            ("disclose", 0, [("counselling", False, 0)], True),
        ],
    )
    def test_what_is_stored_is_what_agreement_request_and_model_allow(
        self, term, sector, expired, steps
    ):
        terms = {"send": [], "receive": [_handover_term(term, sector)]}
        fields = {"valid_until": date.today() - timedelta(days=1)} if expired else {}
        here = _Installation(self, terms, **fields)
        partner, lead = here.partner, here.personas.partner
        threads = [new_thread() for _ in range(3)]
        sent: list[dict] = []  # every message the partner sent, for repeats and spoils
        taken: dict[str, bytes] = {}  # id -> first answer's bytes, for the messages taken
        statuses: dict[str, str | None] = {}
        kept = _kept(sector)
        by_code = {t.code: t for t in Term.objects.of("information_category")}

        def post(message: dict, raw: bytes | None = None) -> dict:
            before = _counts()
            answer_status, answer = partner.send(here.client, message, raw=raw)
            if answer["type"] == "refusal":
                after = _counts()
                assert after[:3] == before[:3], (message["type"], answer["body"]["code"])
                assert after[3] == before[3] + 1
                assert Message.objects.order_by("-pk").first().status == "refused"
            else:
                assert answer_status == 200
            return answer

        for step in steps:
            kind = step[0]
            if kind == "request":
                categories = sorted(step[2])
                if step[3]:
                    categories = sorted(step[2] & term) or sorted(term)[:1]
                body = request_body(categories=categories)
                message = partner.message("handover_request", body, thread=threads[step[1]])
                sent.append(message)
                answer = post(message)
                if answer["type"] != "refusal":
                    taken[message["id"]] = answer
            elif kind == "accept":
                handover = CrossHandover.objects.filter(thread=threads[step[1]]).first()
                if handover is not None:
                    before = _counts()
                    try:
                        services.handover_accept(
                            actor=lead, handover=handover, organisation=org(lead)
                        )
                    except (ValidationError, PermissionDenied):
                        assert _counts() == before
            elif kind in ("disclose", "withdraw", "stray"):
                if kind == "disclose":
                    items = step[2]
                    announced = CrossHandover.objects.filter(thread=threads[step[1]]).first()
                    if step[3] and announced is not None:
                        codes = sorted(announced.categories)
                        items = [(codes[i % len(codes)], ident, i) for _c, ident, i in items]
                    body = {"items": [_item(*item) for item in items]}
                    message = partner.message("disclosure", body, thread=threads[step[1]])
                elif kind == "withdraw":
                    message = partner.message("withdrawal", {}, thread=threads[step[1]])
                else:
                    bodies = {
                        "disclosure": {"items": [_item("case_coordination", False)]},
                        "acceptance": {"organisation": "X", "reference": "NL-1"},
                        "withdrawal": {"reason": "gone"},
                    }
                    message = partner.message(step[1], bodies[step[1]], thread=new_thread())
                sent.append(message)
                answer = post(message)
                if answer["type"] != "refusal":
                    taken[message["id"]] = answer
            elif kind == "repeat" and sent:
                message = sent[step[1] % len(sent)]
                if message["id"] in taken:
                    before = _counts()
                    _status, answer = partner.send(here.client, message)
                    assert answer == taken[message["id"]]  # answered as the first time
                    assert _counts() == before  # and nothing new recorded
                else:
                    answer = post(message)
                    if answer["type"] != "refusal":
                        taken[message["id"]] = answer
            elif kind == "spoil":
                message = (
                    sent[step[1] % len(sent)]
                    if sent
                    else partner.message("handover_request", request_body(), thread=threads[0])
                )
                if step[2] % 2:  # signed by somebody else
                    raw = partner.wire(message, key=Ed25519PrivateKey.generate())
                else:  # one byte of the wire changed
                    raw = bytearray(partner.wire(message))
                    position = step[2] % len(raw)
                    raw[position] = (raw[position] + 1 + step[2] % 250) % 256
                    raw = bytes(raw)
                before = _counts()
                response = here.client.post(
                    "/federation/v1/messages", data=raw, content_type="application/json"
                )
                # refused, whatever was spoiled: one refusal recorded, nothing else
                assert response.status_code != 200
                after = _counts()
                assert after[:3] == before[:3] and after[3] == before[3] + 1
            # after every step: stored information, and the threads' statuses
            for handover in CrossHandover.objects.filter(direction="in"):
                before_status = statuses.get(handover.thread)
                if handover.status != before_status:
                    assert (before_status, handover.status) in REACHABLE
                statuses[handover.thread] = handover.status
                case = handover.case
                if case is None:
                    continue
                allowed = (set(term) & set(handover.categories)) - kept
                for stored in Entry.objects.filter(case=case).select_related("category"):
                    assert stored.category.code in allowed, stored.category.code
                    assert may_write(handover.decided_by, case, stored.category).allowed
                case.refresh_from_db()
                if any(getattr(case, name) for name in Case.IDENTITY_FIELDS):
                    assert "identity" in allowed
                    assert may_write(handover.decided_by, case, by_code["identity"]).allowed
            if expired:
                assert not CrossHandover.objects.exists()


# --- (b) sending --------------------------------------------------------------------------


class Sending(HypothesisTestCase):
    @SETTINGS
    @given(
        term=st.sets(st.sampled_from(CATEGORIES), min_size=1),
        sector=st.sampled_from(["counselling_ngo", "security", "child_welfare"]),
        proposed=st.sets(st.sampled_from(CATEGORIES), min_size=1, max_size=5),
        within=st.booleans(),
        extra=st.lists(st.sampled_from(CATEGORIES), max_size=5),
    )
    # counselling offered to the security sector, which the German model keeps from it
    @example(
        term={"identity", "counselling"},
        sector="security",
        proposed={"counselling", "identity"},
        within=True,
        extra=[],
    )
    def test_what_leaves_is_what_agreement_proposal_and_model_allow(
        self, term, sector, proposed, within, extra
    ):
        if within:  # bent into the term, so that it gets as far as a disclosure
            proposed = (proposed & term) or term
        terms = {"send": [_handover_term(term, sector)], "receive": []}
        here = _Installation(self, terms, world=True)
        partner, lead, case = here.partner, here.personas.partner, here.world.case
        for number, code in enumerate(extra):
            with contextlib.suppress(ValidationError, PermissionDenied):
                entry(lead, case, code, f"Extra {number}", "More.")
        allowed = (set(term) & set(proposed)) - _kept(sector)
        try:
            handover = services.handover_propose(
                actor=lead,
                agreement=partner.agreement,
                case=case,
                postcode="3011 AB",
                reason="The family moved to Rotterdam.",
                categories=sorted(proposed),
                consent_note="Agreed on 3 December in the office.",
            )
        except ValidationError as error:
            assert "categories" in error.message_dict
            assert not set(proposed) <= allowed
            assert not CrossHandover.objects.exists() and not Message.objects.exists()
            return
        assert set(proposed) <= allowed
        services.deliver_pending()
        assert partner.received[-1]["type"] == "handover_request"
        assert set(partner.received[-1]["body"]["categories"]) <= allowed
        acceptance = partner.message(
            "acceptance",
            {"organisation": "Stichting Perspectief", "reference": "NL-2026-0001"},
            thread=handover.thread,
        )
        assert partner.send(here.client, acceptance)[0] == 200
        handover.refresh_from_db()
        services.handover_disclose(actor=lead, handover=handover)
        services.deliver_pending()
        disclosure = partner.received[-1]
        assert disclosure["type"] == "disclosure"
        for item in disclosure["body"]["items"]:
            assert item["category"] in allowed, item["category"]
            assert item["category"] not in _kept(sector)
        handover.refresh_from_db()
        assert handover.status == "completed"


# --- (c) the wire -------------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _reordered(value):
    if isinstance(value, dict):
        return {key: _reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(item) for item in value]
    return value


@settings(max_examples=200, deadline=None)
@given(value=st.dictionaries(st.text(max_size=8), JSON, max_size=6))
def test_canonical_json_round_trips_and_its_hash_ignores_key_order(value):
    text = protocol.canonical(value)
    assert protocol.canonical(json.loads(text)) == text
    assert protocol.message_hash(_reordered(value)) == protocol.message_hash(value)


_KEY = Ed25519PrivateKey.generate()


def _signed(reason: str) -> tuple[dict, bytes]:
    message = protocol.compose(
        type="handover_request",
        agreement="hamburg-rotterdam",
        sender="nl-rotterdam",
        recipient="de-test",
        body=request_body(reason=reason),
        thread=new_thread(),
    )
    return message, protocol.seal(message, _KEY)


@settings(max_examples=300, deadline=None)
@given(reason=st.text(min_size=1, max_size=40).filter(str.strip), data=st.data())
def test_any_single_byte_changed_in_a_signed_message_is_refused(reason, data):
    _message, raw = _signed(reason)
    position = data.draw(st.integers(0, len(raw) - 1), label="position")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != raw[position]), label="byte")
    spoiled = raw[:position] + bytes([byte]) + raw[position + 1 :]
    with pytest.raises(protocol.Refused) as refusal:
        opened, signature = protocol.open_wire(spoiled)
        protocol.envelope_of(opened)
        protocol.verify(opened, signature, _KEY.public_key())
    assert refusal.value.code in ("malformed", "unsupported_version", "bad_signature")


def test_the_unspoiled_message_opens_and_verifies():
    message, raw = _signed("The family moved.")
    opened, signature = protocol.open_wire(raw)
    protocol.verify(opened, signature, _KEY.public_key())
    assert opened == message


def test_a_signature_spelt_otherwise_in_base64_is_malformed():
    """base64's last character has spare bits: the same signature could be spelt anew."""
    _message, raw = _signed("The family moved.")
    wire = json.loads(raw)
    last = wire["signature"].rstrip("=")[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    other = alphabet[alphabet.index(last) ^ 1]  # the lowest bit is a spare one
    wire["signature"] = wire["signature"].replace(last + "=", other + "=")
    with pytest.raises(protocol.Refused) as refusal:
        protocol.open_wire(protocol.canonical(wire))
    assert refusal.value.code == "malformed"
