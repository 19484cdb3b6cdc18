"""Issue 14, point 3: an action that needs "Confirm it is you" needs it on every path.

The walk takes each row of ``accounts.stepup.STEP_UP`` through the page, the session API
and a personal token: an unconfirmed session is sent to the confirmation (page) or
answered 403 (API) and nothing is written or returned; a confirmed session does it; a
token is always refused, and so is the service itself when called behind a token or an
unconfirmed session. The emergency column is walked with a coordinator who reads the
case by emergency access. Meta-tests keep the table honest: every row has a walk and
names real pages, operations and services, and every page or API operation that calls a
service of the table is listed there and guarded.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

import pytest
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from casebridge.accounts.models import ApiToken, Membership, Role
from casebridge.accounts.services import api_token_create
from casebridge.accounts.stepup import STEP_UP, DuringEmergency, authenticated_by
from casebridge.audit.models import AuditEvent
from casebridge.cases import selectors as case_selectors
from casebridge.cooperation_models.models import Term
from casebridge.federation import services as federation_services
from casebridge.federation.models import CrossHandover
from casebridge.federation.models import Message as FederationMessage
from casebridge.privacy import selectors as privacy_selectors
from casebridge.privacy import services as privacy_services
from casebridge.procedures import services as procedure_services
from casebridge.procedures.models import ProtocolSignatory
from casebridge.refusals import ReauthRequired, TokenRefused
from casebridge.sharing import emergency as sharing_emergency
from casebridge.sharing import services as sharing_services
from casebridge.sharing.models import ContactDisclosure, Disclosure, EmergencyAccess, Protocol
from tests.builders import make_contact, make_user, org
from tests.federation.partner import install as install_partner
from tests.procedures.drafts import draft_with_signatories

pytestmark = pytest.mark.django_db

REASON = "Anruf der Polizei: akute Selbstgefährdung, Fallbeteiligte nachts nicht erreichbar."
REAUTH = reverse("accounts:reauth")
CONFIRM_FIRST = "Confirm that it is you first"
NO_TOKEN = "An API token cannot confirm"
READ_ONLY = "by emergency access"


@dataclass
class Walk:
    """One step-up action as a user would do it on each path."""

    actor: object
    page: tuple[str, str, dict | None]  # method, URL, form data
    page_done: int  # the status of a confirmed page request
    api: tuple[str, str, dict | None] | None  # method, URL, JSON body
    api_done: int
    secret: str  # what a refused answer must not contain
    service: Callable[[], object]  # the action through its service, as the views call it


def _export(personas, world, actor):
    return Walk(
        actor=actor,
        page=("GET", reverse("cases:export", args=[world.case.pk]), None),
        page_done=200,
        api=("GET", f"/api/v1/cases/{world.case.pk}/export", None),
        api_done=200,
        secret="Vertrauliche Beratung",
        service=lambda: case_selectors.export_rows(actor, world.case),
    )


def _disclose(personas, world, actor):
    # The attack of the issue: a legal basis without a second approval, so the API
    # answered 201 with the disclosure approved.
    return Walk(
        actor=actor,
        page=(
            "POST",
            reverse("sharing:disclose", args=[world.case.pk]),
            {
                "to_participant": world.police.pk,
                "excerpt": "A. hat einen Termin beim Jobcenter.",
                "excerpt_category": "case_coordination",
                "purpose": "Fallkonferenz vorbereiten",
                "legal_basis": "danger_prevention_bdsg",
                "justification": "Abstimmung nach SOP.",
            },
        ),
        page_done=302,
        api=(
            "POST",
            f"/api/v1/sop/cases/{world.case.pk}/disclosures",
            {
                "to_participant_id": world.police.pk,
                "entries": [world.coordination.pk],
                "purpose": "Fallkonferenz vorbereiten",
                "legal_basis": "danger_prevention_bdsg",
                "justification": "Abstimmung nach SOP.",
            },
        ),
        api_done=201,
        secret="Jobcenter",
        service=lambda: _disclosure(actor, world, world.coordination, "danger_prevention_bdsg"),
    )


def _disclosure(actor, world, entry, basis: str) -> Disclosure:
    """``entry`` to the police liaison on the legal basis ``basis``, through the service."""
    return sharing_services.disclosure_request(
        actor=actor,
        case=world.case,
        to_participant=world.police,
        entries=[entry],
        purpose="Fallkonferenz vorbereiten",
        legal_basis=Term.objects.get(kind="legal_basis", code=basis),
        justification="Abstimmung nach SOP.",
    )


def _decide(personas, world, actor):
    disclosure = _disclosure(personas.partner, world, world.risk, "duty_to_report")  # pending
    return Walk(
        actor=actor,
        page=(
            "POST",
            reverse("sharing:disclosure_decide", args=[disclosure.pk]),
            {"decision": "approve"},
        ),
        page_done=302,
        api=("POST", f"/api/v1/sop/disclosures/{disclosure.pk}/decide", {"approve": True}),
        api_done=200,
        secret="approved",
        service=lambda: sharing_services.disclosure_decide(
            actor=actor, disclosure=disclosure, approve=True
        ),
    )


def _second_person(personas, world):
    colleague = make_user("colleague", org(personas.partner), "partner_counsellor")
    world.lead.members.add(colleague)
    return colleague


def _emergency_start(personas, world, actor):
    return Walk(
        actor=actor,
        page=(
            "POST",
            reverse("sharing:emergency"),
            {"case": world.case.number, "reason": REASON, "hours": "1"},
        ),
        page_done=302,
        api=(
            "POST",
            "/api/v1/sop/emergency-access",
            {"case_number": world.case.number, "reason": REASON, "hours": 1},
        ),
        api_done=201,
        secret=REASON,
        service=lambda: sharing_emergency.emergency_access_start(
            actor=actor, case=world.case, reason=REASON, hours=1
        ),
    )


def _subject_export(personas, world, actor):
    item = privacy_services.subject_request_create(actor=actor, kind="access", article="art15")
    privacy_services.subject_request_attach(
        actor=actor, request=item, keys=[f"cases:{world.case.pk}"]
    )
    for step in ("prepare", "review", "release"):
        getattr(privacy_services, f"subject_request_{step}")(actor=actor, request=item)
    return Walk(
        actor=actor,
        page=("GET", reverse("privacy:export", args=[item.pk]) + "?format=json", None),
        page_done=200,
        api=("GET", f"/api/v1/privacy/requests/{item.pk}/export", None),
        api_done=200,
        secret="Beispiel",
        service=lambda: privacy_services.subject_export_open(
            actor=actor, request=item, download=True
        ),
    )


def _audit_export(personas, world, actor):
    return Walk(
        actor=actor,
        page=("POST", reverse("audit:log"), {"export": "csv"}),
        page_done=200,
        api=("POST", "/api/v1/audit/events/export", {"format": "csv"}),
        api_done=200,
        secret="occurred_at",
        service=lambda: list(privacy_selectors.export_for_dpo(actor, fmt="csv").rows),
    )


def _token_create(personas, world, actor):
    return Walk(
        actor=actor,
        page=("POST", reverse("accounts:profile"), {"form": "token", "name": "laptop"}),
        page_done=200,
        api=("POST", "/api/v1/tokens", {"name": "script"}),
        api_done=201,
        secret='"secret"',
        service=lambda: api_token_create(actor=actor, name="script"),
    )


def _danger_contact(personas):
    """A Hamburg contact whose first analysis found a danger to others: the hotline's
    procedure asks for a disclosure to the state's police liaison unit."""
    contact = make_contact(personas, first_analysis={"danger_to_others": "yes"})
    return ContactDisclosure.objects.get(contact=contact)


PREPARED = {
    "excerpt": "Der Sohn kündigt einen Anschlag auf die Moschee am Freitag an.",
    "purpose": "Gefahrenabwehr",
    "legal_basis": "justifying_emergency",
    "justification": "Gegenwärtige Gefahr für Leib und Leben; anders nicht abwendbar.",
}


def _contact_prepare(personas, world, actor):
    disclosure = _danger_contact(personas)
    police = disclosure.recipient
    return Walk(
        actor=actor,
        page=(
            "POST",
            reverse("sharing:contact_disclosure", args=[disclosure.pk]),
            {**PREPARED, "recipient": police.pk, "approver": personas.coordinator.pk},
        ),
        page_done=302,
        api=(
            "POST",
            f"/api/v1/sop/hotline-disclosures/{disclosure.pk}/prepare",
            {**PREPARED, "recipient_id": police.pk, "approver_id": personas.coordinator.pk},
        ),
        api_done=200,
        secret="Moschee",
        service=lambda: sharing_services.contact_disclosure_prepare(
            actor=actor,
            disclosure=disclosure,
            recipient=police,
            approver=personas.coordinator,
            **{**PREPARED, "legal_basis": Term.objects.get(code="justifying_emergency")},
        ),
    )


def _contact_decide(personas, world, actor):
    disclosure = _danger_contact(personas)
    sharing_services.contact_disclosure_prepare(
        actor=personas.hotline,
        disclosure=disclosure,
        recipient=disclosure.recipient,
        approver=actor,
        **{**PREPARED, "legal_basis": Term.objects.get(code="justifying_emergency")},
    )
    return Walk(
        actor=actor,
        page=(
            "POST",
            reverse("sharing:contact_disclosure_decide", args=[disclosure.pk]),
            {"decision": "send"},
        ),
        page_done=302,
        api=("POST", f"/api/v1/sop/hotline-disclosures/{disclosure.pk}/decide", {"send": True}),
        api_done=200,
        secret='"sent"',
        service=lambda: sharing_services.contact_disclosure_decide(
            actor=actor, disclosure=disclosure, approve=True
        ),
    )


def _protocol_sign(personas, world, actor):
    draft = draft_with_signatories(personas)
    body = {"content_hash": draft.content_hash}
    return Walk(
        actor=actor,
        page=("POST", reverse("procedures:sign", args=[draft.pk]), body),
        page_done=302,
        api=("POST", f"/api/v1/sop/protocols/{draft.pk}/sign", body),
        api_done=200,
        secret='"signed_current_text": true',
        service=lambda: procedure_services.protocol_sign(
            actor=actor, protocol=draft, content_hash=draft.content_hash
        ),
    )


def _protocol_activate(personas, world, actor):
    draft = draft_with_signatories(personas, signed=True)
    body = {"effective_from": timezone.localdate().isoformat(), "content_hash": draft.content_hash}
    return Walk(
        actor=actor,
        page=("POST", reverse("procedures:activate", args=[draft.pk]), body),
        page_done=302,
        api=("POST", f"/api/v1/sop/protocols/{draft.pk}/activate", body),
        api_done=200,
        secret='"in_force"',
        service=lambda: procedure_services.protocol_activate(
            actor=actor,
            protocol=draft,
            effective_from=timezone.localdate(),
            content_hash=draft.content_hash,
        ),
    )


@pytest.fixture(autouse=True)
def _federation_partner(request, settings, tmp_path, monkeypatch):
    """The federation's rows hand a case to a partner installation: one answers in process."""
    params = getattr(getattr(request.node, "callspec", None), "params", {})
    if not str(params.get("code", "")).startswith("federation."):
        return
    personas = request.getfixturevalue("personas")
    fake = install_partner(settings, tmp_path, [org(personas.partner)])
    monkeypatch.setattr(federation_services, "_post", fake.post)
    PARTNERS["fake"] = fake


PARTNERS: dict = {}
HANDOVER = {
    "postcode": "3011 AB",
    "language": "nl",
    "reason": "Die Familie zieht nach Rotterdam.",
    "categories": ["identity", "case_coordination"],
    "consent_note": "Zugestimmt am 3. Dezember.",
}


def _federation_propose(personas, world, actor):
    agreement = PARTNERS["fake"].agreement
    return Walk(
        actor=actor,
        page=(
            "POST",
            reverse("federation:propose", args=[world.case.pk]),
            {"propose-agreement": agreement.pk}
            | {f"propose-{name}": value for name, value in HANDOVER.items()},
        ),
        page_done=302,
        api=(
            "POST",
            f"/api/v1/federation/cases/{world.case.pk}/handovers",
            {"agreement_id": agreement.pk, **HANDOVER},
        ),
        api_done=201,
        secret="Rotterdam",
        service=lambda: federation_services.handover_propose(
            actor=actor, agreement=agreement, case=world.case, **HANDOVER
        ),
    )


def _federation_disclose(personas, world, actor):
    """An outgoing handover the partner has accepted: what is left is sending the case."""
    fake = PARTNERS["fake"]
    handover = federation_services.handover_propose(
        actor=personas.partner, agreement=fake.agreement, case=world.case, **HANDOVER
    )
    acceptance = fake.message(
        "acceptance", {"organisation": "Stichting", "reference": "NL-1"}, thread=handover.thread
    )
    fake.send(Client(), acceptance)
    return Walk(
        actor=actor,
        page=("POST", reverse("federation:disclose", args=[handover.pk]), {}),
        page_done=302,
        api=("POST", f"/api/v1/federation/handovers/{handover.pk}/disclose", None),
        api_done=200,
        secret="Beispiel",
        service=lambda: federation_services.handover_disclose(actor=actor, handover=handover),
    )


# code → (how to do it, who does it)
WALKS = {
    "federation.handover.propose": (
        _federation_propose,
        lambda personas, world: personas.partner,
    ),
    "federation.handover.disclose": (
        _federation_disclose,
        lambda personas, world: personas.partner,
    ),
    "procedures.protocol.sign": (_protocol_sign, lambda personas, world: personas.partner),
    "procedures.protocol.activate": (
        _protocol_activate,
        lambda personas, world: personas.coordinator,
    ),
    "cases.case.export": (_export, lambda personas, world: personas.partner),
    "sharing.disclosure.request": (_disclose, lambda personas, world: personas.partner),
    "sharing.disclosure.decide": (_decide, _second_person),
    "sharing.emergency.start": (_emergency_start, lambda personas, world: personas.coordinator),
    "sharing.contact_disclosure.prepare": (
        _contact_prepare,
        lambda personas, world: personas.hotline,
    ),
    "sharing.contact_disclosure.decide": (
        _contact_decide,
        lambda personas, world: personas.coordinator,
    ),
    "privacy.subject_request.export": (_subject_export, lambda personas, world: personas.dpo),
    "audit.log.export": (_audit_export, lambda personas, world: personas.dpo),
    "accounts.token.create": (_token_create, lambda personas, world: personas.partner),
}


def walk_of(code: str, personas, world) -> Walk:
    build, actor = WALKS[code]
    return build(personas, world, actor(personas, world))


def snapshot(actor) -> tuple:
    """What an action would leave behind: its records, and any allowed audit event of the
    actor (a read is one too)."""
    return (
        AuditEvent.objects.filter(actor=actor, outcome="ok").count(),
        Disclosure.objects.count(),
        Disclosure.objects.filter(status=Disclosure.Status.APPROVED).count(),
        ApiToken.objects.count(),
        EmergencyAccess.objects.count(),
        sorted(ContactDisclosure.objects.values_list("status", flat=True)),
        ProtocolSignatory.objects.filter(signed_at__isnull=False).count(),
        sorted(Protocol.objects.values_list("status", flat=True)),
        CrossHandover.objects.count(),
        FederationMessage.objects.filter(direction="out").count(),
    )


def send(client: Client, request: tuple[str, str, dict | None], *, api: bool, **headers):
    method, url, data = request
    if api:
        return client.generic(
            method,
            url,
            data=json.dumps(data) if data is not None else "",
            content_type="application/json",
            **headers,
        )
    return client.generic(method, url) if data is None else client.post(url, data, **headers)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


CODES = sorted(STEP_UP)


# --- the walk ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", CODES)
def test_the_page_asks_for_a_confirmation_first(personas, world, code):
    walk = walk_of(code, personas, world)
    before = snapshot(walk.actor)
    stale = personas.client(walk.actor, reauthenticated=False)
    response = send(stale, walk.page, api=False)
    assert response.status_code == 302, body(response)[:300]
    assert response["Location"].startswith(REAUTH)
    assert snapshot(walk.actor) == before  # nothing written, nothing read

    response = send(personas.client(walk.actor), walk.page, api=False)
    assert response.status_code == walk.page_done, body(response)[:300]
    assert resolve(walk.page[1].split("?")[0]).view_name in STEP_UP[code].pages


@pytest.mark.parametrize("code", [code for code in CODES if STEP_UP[code].operations])
def test_the_session_api_asks_for_the_same_confirmation(personas, world, code):
    walk = walk_of(code, personas, world)
    before = snapshot(walk.actor)
    stale = personas.client(walk.actor, reauthenticated=False)
    response = send(stale, walk.api, api=True)
    assert response.status_code == 403, body(response)[:300]
    assert CONFIRM_FIRST in response.json()["detail"]
    assert walk.secret.encode() not in body(response)
    assert snapshot(walk.actor) == before
    refusal = AuditEvent.objects.filter(action=code, outcome="denied").latest("id")
    assert refusal.actor == walk.actor and refusal.details == {"refused": "ReauthRequired"}

    response = send(personas.client(walk.actor), walk.api, api=True)
    assert response.status_code == walk.api_done, body(response)[:300]
    assert _operation(walk.api[0], walk.api[1]) in STEP_UP[code].operations


@pytest.mark.parametrize("code", [code for code in CODES if STEP_UP[code].operations])
def test_a_token_is_refused_every_step_up_action(personas, world, code):
    walk = walk_of(code, personas, world)
    _token, secret = api_token_create(actor=walk.actor, name="script")
    before = snapshot(walk.actor)
    response = send(Client(), walk.api, api=True, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 403, body(response)[:300]
    assert NO_TOKEN in response.json()["detail"]
    assert walk.secret.encode() not in body(response)
    assert snapshot(walk.actor) == before
    refusal = AuditEvent.objects.filter(action=code, outcome="denied").latest("id")
    assert refusal.details == {"refused": "TokenRefused"}


def _request_behind(kind: str, actor):
    request = RequestFactory().post("/api/v1/anything")
    request.user = actor
    request.session = {}  # never confirmed
    if kind == "token":
        request.api_token = ApiToken(user=actor, second_factor=True)
    return request


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize(
    ("kind", "refusal"), [("token", TokenRefused), ("session", ReauthRequired)]
)
def test_the_service_itself_refuses_what_a_forgotten_guard_would_let_through(
    personas, world, code, kind, refusal
):
    """The backstop: a page or operation without its decorator still cannot do it."""
    walk = walk_of(code, personas, world)
    before = snapshot(walk.actor)
    with authenticated_by(_request_behind(kind, walk.actor)), pytest.raises(refusal):
        walk.service()
    assert snapshot(walk.actor) == before


# --- during an emergency access ---------------------------------------------------------


def _coordinator_in_emergency(personas, world):
    coordinator = personas.coordinator
    sharing_emergency.emergency_access_start(
        actor=coordinator, case=world.case, reason=REASON, hours=1
    )
    return coordinator


def _coordinator_of_the_lead_in_emergency(personas, world):
    """A coordinator of the disclosing organisation may approve its disclosures by role;
    while they read the case by emergency access, they may not."""
    Membership.objects.create(
        user=personas.coordinator, organisation=org(personas.partner), role=Role.COORDINATOR
    )
    return _coordinator_in_emergency(personas, world)


EMERGENCY_ACTORS = {
    "federation.handover.propose": _coordinator_in_emergency,
    "federation.handover.disclose": _coordinator_in_emergency,
    "cases.case.export": _coordinator_in_emergency,
    "sharing.disclosure.request": _coordinator_in_emergency,
    "sharing.disclosure.decide": _coordinator_of_the_lead_in_emergency,
}


@pytest.mark.parametrize(
    "code",
    [c for c in CODES if STEP_UP[c].during_emergency != DuringEmergency.NOT_IN_A_CASE],
)
@pytest.mark.parametrize("path", ["page", "session_api"])
def test_the_emergency_column_holds_on_every_path(personas, world, code, path):
    build, _actor = WALKS[code]
    walk = build(personas, world, EMERGENCY_ACTORS[code](personas, world))
    before = snapshot(walk.actor)
    client = personas.client(walk.actor)  # confirmed: only the emergency can refuse
    response = send(client, walk.page if path == "page" else walk.api, api=path != "page")
    if STEP_UP[code].during_emergency == DuringEmergency.ALLOWED:
        assert response.status_code in (walk.page_done, walk.api_done)
        return
    assert response.status_code == 403, body(response)[:300]
    assert READ_ONLY in body(response).decode()
    assert walk.secret.encode() not in body(response)
    assert snapshot(walk.actor)[1:] == before[1:]  # no record written
    refusal = AuditEvent.objects.filter(actor=walk.actor, outcome="denied").latest("id")
    assert refusal.purpose == "emergency access"


# --- the table is honest ----------------------------------------------------------------


def test_every_row_of_the_table_is_walked():
    assert set(WALKS) == set(STEP_UP)
    assert set(EMERGENCY_ACTORS) == {
        code
        for code, action in STEP_UP.items()
        if action.during_emergency != DuringEmergency.NOT_IN_A_CASE
    }


def _operation(method: str, url: str) -> str | None:
    """The operation ("METHOD /api/v1/path{param}") an API URL is answered by."""
    for operation in api_operations():
        verb, template = operation.split(" ", 1)
        pattern = re.sub(r"\\\{[^}]+\\\}", r"[^/]+", re.escape(template))
        if verb == method and re.fullmatch(pattern, url):
            return operation
    return None


def api_operations() -> dict[str, Callable]:
    """Every API operation with its view function, named as in the OpenAPI document."""
    from casebridge.api import ROUTERS

    operations = {}
    for prefix, router in ROUTERS:
        for path, path_view in router.path_operations.items():
            full = re.sub("/+", "/", f"/api/v1/{prefix}/{path}").rstrip("/")
            for operation in path_view.operations:
                for method in operation.methods:
                    operations[f"{method} {full}"] = operation.view_func
    return operations


def page_views() -> dict[str, Callable]:
    """Every named page with its view, by URL name ("namespace:name")."""
    views = {}

    def collect(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.namespace != "api":
                    inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                    collect(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                views[f"{namespace}{pattern.name}"] = pattern.callback

    collect(get_resolver().url_patterns, "")
    return views


def test_the_operations_found_are_those_of_the_openapi_document():
    from casebridge.api import api

    documented = {
        f"{method.upper()} {path}"
        for path, item in api.get_openapi_schema()["paths"].items()
        for method in item
    }
    assert set(api_operations()) == documented


def test_the_table_names_real_pages_operations_and_services():
    operations, pages = api_operations(), page_views()
    for code, action in STEP_UP.items():
        for operation in action.operations:
            assert getattr(operations[operation], "step_up", None) == code, operation
        for page in action.pages:
            assert getattr(pages[page], "step_up", None) == code, page
        for dotted in action.services:
            module, name = dotted.rsplit(".", 1)
            assert callable(getattr(import_module(module), name)), dotted


def _called(function, seen: set) -> set:
    """The module-level objects ``function`` calls, following helpers of its own module."""
    function = inspect.unwrap(function)
    if function in seen:
        return set()
    seen.add(function)
    names = vars(sys.modules[function.__module__])
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = node.func
        if isinstance(target, ast.Name):
            found.add(names.get(target.id))
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            found.add(getattr(names.get(target.value.id), target.attr, None))
    for helper in list(found):
        if inspect.isfunction(helper) and helper.__module__ == function.__module__:
            found |= _called(helper, seen)
    return found


def test_every_page_and_operation_that_reaches_a_step_up_service_is_in_the_table():
    """A new path to an export, a disclosure or a token must be listed and guarded."""
    services = {
        getattr(import_module(dotted.rsplit(".", 1)[0]), dotted.rsplit(".", 1)[1]): code
        for code, action in STEP_UP.items()
        for dotted in action.services
    }
    missing = []
    for kind, views in (("operations", api_operations()), ("pages", page_views())):
        for name, view in views.items():
            if not hasattr(inspect.unwrap(view), "__code__"):
                continue  # class-based views (sign-in, sign-out) call no such service
            for called in _called(view, set()):
                code = services.get(called) if callable(called) else None
                if code is not None and name not in getattr(STEP_UP[code], kind):
                    missing.append((code, kind, name))
    assert missing == []
