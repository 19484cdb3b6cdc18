"""“Confirm it is you”: the one table of step-up actions, and the one check on every path.

An action in ``STEP_UP`` needs a browser session whose user confirmed it is them within
REAUTH_MINUTES (``security.recently_authenticated``). Three places consult the table and
make the same check (DESIGN invariant 12):

- pages: ``require_recent_auth(code)`` sends the user to "Confirm it is you" first;
- the API: ``step_up(code)`` answers 403 before the operation reads anything;
- the service that performs the action: ``demand(code, actor=...)``, so a path that
  forgot its decorator is refused too, never let through.

A personal API token cannot confirm anything (no password, no second factor): every
action of the table refuses it. ``during_emergency`` says whether the action may be done
in a case the user reads only by emergency access (break-glass). Outside a request (the
command line, the worker) nobody can be asked; there the operator acts with the
machine's authority and only the emergency rule applies.

docs/development.md ("Confirm it is you") says how to add an action.
"""

from __future__ import annotations

import typing
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from functools import wraps

from django.contrib import messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from casebridge.accounts import security
from casebridge.audit.models import Outcome
from casebridge.audit.services import audit_record
from casebridge.refusals import EmergencyRefused, ReauthRequired, Refusal, TokenRefused

EMERGENCY_PURPOSE = "emergency access"


class DuringEmergency(StrEnum):
    ALLOWED = "allowed"
    REFUSED = "refused"
    NOT_IN_A_CASE = "not in a case"  # the action does not act in one case


@dataclass(frozen=True)
class StepUpAction:
    """One action that needs "Confirm it is you"; ``code`` is also its audit action."""

    code: str
    label: str
    pages: tuple[str, ...]  # URL names of the pages that do it
    operations: tuple[str, ...]  # "METHOD /api/v1/path" of the API operations that do it
    services: tuple[str, ...]  # the functions that perform it; each calls demand(code)
    during_emergency: DuringEmergency


STEP_UP: dict[str, StepUpAction] = {
    action.code: action
    for action in (
        StepUpAction(
            "cases.case.export",
            _("Export a case"),
            pages=("cases:export",),
            operations=("GET /api/v1/cases/{case_id}/export",),
            services=("casebridge.cases.selectors.export_rows",),
            # A copy would outlive the access and escape the review of what was read.
            during_emergency=DuringEmergency.REFUSED,
        ),
        StepUpAction(
            "sharing.disclosure.request",
            _("Disclose information"),
            pages=("sharing:disclose",),
            operations=("POST /api/v1/sop/cases/{case_id}/disclosures",),
            services=("casebridge.sharing.services.disclosure_request",),
            during_emergency=DuringEmergency.REFUSED,
        ),
        StepUpAction(
            "sharing.disclosure.decide",
            _("Approve or reject a disclosure"),
            pages=("sharing:disclosure_decide",),
            operations=("POST /api/v1/sop/disclosures/{disclosure_id}/decide",),
            services=("casebridge.sharing.services.disclosure_decide",),
            during_emergency=DuringEmergency.REFUSED,
        ),
        StepUpAction(
            "sharing.contact_disclosure.prepare",
            _("Prepare a disclosure of the hotline"),
            pages=("sharing:contact_disclosure",),
            operations=("POST /api/v1/sop/hotline-disclosures/{disclosure_id}/prepare",),
            services=("casebridge.sharing.services.contact_disclosure_prepare",),
            during_emergency=DuringEmergency.NOT_IN_A_CASE,
        ),
        StepUpAction(
            "sharing.contact_disclosure.decide",
            _("Send or return a disclosure of the hotline"),
            pages=("sharing:contact_disclosure_decide",),
            operations=("POST /api/v1/sop/hotline-disclosures/{disclosure_id}/decide",),
            services=("casebridge.sharing.services.contact_disclosure_decide",),
            during_emergency=DuringEmergency.NOT_IN_A_CASE,
        ),
        StepUpAction(
            "sharing.emergency.start",
            _("Open a case by emergency access"),
            pages=("sharing:emergency",),
            operations=("POST /api/v1/sop/emergency-access",),
            services=("casebridge.sharing.emergency.emergency_access_start",),
            during_emergency=DuringEmergency.NOT_IN_A_CASE,
        ),
        StepUpAction(
            "privacy.subject_request.export",
            _("Open or download the export of a subject request"),
            pages=("privacy:export",),
            operations=("GET /api/v1/privacy/requests/{request_id}/export",),
            services=("casebridge.privacy.services.subject_export_open",),
            during_emergency=DuringEmergency.NOT_IN_A_CASE,
        ),
        StepUpAction(
            "audit.log.export",
            _("Export the audit log"),
            pages=("audit:log",),
            operations=("POST /api/v1/audit/events/export",),
            services=("casebridge.privacy.selectors.export_for_dpo",),
            during_emergency=DuringEmergency.NOT_IN_A_CASE,
        ),
        StepUpAction(
            "procedures.protocol.sign",
            _("Sign a version of a procedure"),
            pages=("procedures:sign",),
            operations=("POST /api/v1/sop/protocols/{protocol_id}/sign",),
            services=("casebridge.procedures.services.protocol_sign",),
            during_emergency=DuringEmergency.NOT_IN_A_CASE,
        ),
        StepUpAction(
            "procedures.protocol.activate",
            _("Put a version of a procedure into force"),
            pages=("procedures:activate",),
            operations=("POST /api/v1/sop/protocols/{protocol_id}/activate",),
            services=("casebridge.procedures.services.protocol_activate",),
            during_emergency=DuringEmergency.NOT_IN_A_CASE,
        ),
        StepUpAction(
            "federation.handover.propose",
            _("Propose to hand a case over to a partner installation"),
            pages=("federation:propose",),
            operations=("POST /api/v1/federation/cases/{case_id}/handovers",),
            services=("casebridge.federation.services.handover_propose",),
            # Personal data leaves the installation: as strict as a disclosure.
            during_emergency=DuringEmergency.REFUSED,
        ),
        StepUpAction(
            "federation.handover.disclose",
            _("Send a case's information to a partner installation"),
            pages=("federation:disclose",),
            operations=("POST /api/v1/federation/handovers/{handover_id}/disclose",),
            services=("casebridge.federation.services.handover_disclose",),
            during_emergency=DuringEmergency.REFUSED,
        ),
        StepUpAction(
            "accounts.token.create",
            _("Create a personal API token"),
            pages=("accounts:profile",),
            operations=("POST /api/v1/tokens",),
            services=("casebridge.accounts.services.api_token_create",),
            during_emergency=DuringEmergency.NOT_IN_A_CASE,
        ),
    )
}


# --- how the current request was authenticated ----------------------------------------

_request: ContextVar = ContextVar("casebridge_stepup_request", default=None)


@contextmanager
def authenticated_by(request):
    """While a request runs, services can ask how it was authenticated (the middleware
    enters this for every request; ``casebridge.api.TokenAuth`` marks token requests)."""
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


@dataclass(frozen=True)
class Credential:
    """What stands behind the current action: a browser session (page or session API),
    a personal API token, or the operator's command line (no request)."""

    kind: str  # "session", "token" or "command"
    api: bool = False
    second_factor: bool = False


def credential() -> Credential:
    request = _request.get()
    if request is None:
        return Credential("command", second_factor=True)
    if getattr(request, "api_token", None) is not None:
        return Credential("token", api=True, second_factor=request.api_token.second_factor)
    user = getattr(request, "user", None)
    verified = getattr(user, "is_verified", None)
    return Credential(
        "session",
        api=request.path.startswith("/api/"),
        second_factor=bool(verified and verified()),
    )


def _refusal(request, code: str, *, emergency: bool) -> Refusal | None:
    action = STEP_UP[code]
    if request is not None:
        if getattr(request, "api_token", None) is not None:
            return TokenRefused()
        session = getattr(request, "session", None)
        if session is None or not security.recently_authenticated(session):
            return ReauthRequired()
    if emergency and action.during_emergency != DuringEmergency.ALLOWED:
        return EmergencyRefused()
    return None


def _check(request, code: str, *, actor, emergency: bool = False, obj=None) -> None:
    refusal = _refusal(request, code, emergency=emergency)
    if refusal is None:
        return
    # Written in the caller's transaction: a refusal inside a service is rolled back with
    # it, one at the door (API decorator, selectors) stays in the log.
    audit_record(
        actor=actor,
        action=code,
        obj=obj,
        outcome=Outcome.DENIED,
        purpose=EMERGENCY_PURPOSE if emergency else "",
        details={"refused": type(refusal).__name__},
    )
    raise refusal


def demand(code: str, *, actor, emergency: bool = False, obj=None) -> None:
    """Refuse ``code`` unless the current request may do it; the service's own check.

    ``emergency``: the actor acts in a case they read only by emergency access.
    """
    _check(_request.get(), code, actor=actor, emergency=emergency, obj=obj)


def step_up(code: str, *, emergency=None):
    """Guard an API operation: 403 (token, no recent confirmation) before it reads.

    ``emergency(actor, **path_ids) -> bool``: for an action in one case, whether the
    user reads that case only by emergency access (the operation's app asks the policy),
    so the door applies the table's emergency column and marks its refusal with the
    purpose.
    """
    STEP_UP[code]  # a code outside the table fails at import

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            in_emergency = emergency is not None and emergency(request.user, **kwargs)
            _check(request, code, actor=request.user, emergency=in_emergency)
            return view(request, *args, **kwargs)

        wrapper.step_up = code
        # the operation's types, resolved where it is written: ninja reads them through
        # the wrapper, whose module (this one) does not know the operation's schemas
        view.__annotations__ = wrapper.__annotations__ = typing.get_type_hints(view)
        return wrapper

    return decorate


def require_recent_auth(code: str, *, when=None):
    """Guard a page: send the user to "Confirm it is you" unless they did so recently.

    Checked when a form is shown and when it is posted: a stale POST runs nothing (so
    nothing is saved) and the user comes back to the form to submit it again. ``when``
    limits the check to some requests (e.g. only the export of a page).
    """
    STEP_UP[code]  # a code outside the table fails at import

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if (when is not None and not when(request)) or security.recently_authenticated(
                request.session
            ):
                return view(request, *args, **kwargs)
            if request.method == "POST":
                messages.warning(
                    request,
                    gettext(
                        "Nothing was saved yet. Confirm that it is you, then submit the form again."
                    ),
                )
                # Back to the page that showed the form: browsers send it as Referer
                # (Referrer-Policy same-origin); without one, the form's own address.
                back = security.local_url(request, request.headers.get("Referer")) or request.path
            else:
                back = request.get_full_path()
            return security.client_redirect(request, security.reauth_url(back))

        wrapper.step_up = code
        return wrapper

    return decorate
