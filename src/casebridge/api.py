"""The REST API: /api/v1/, OpenAPI document at /api/v1/openapi.json, docs at /api/v1/docs."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, SessionAuth

from casebridge.accounts.api import router as accounts_router
from casebridge.accounts.services import api_token_authenticate
from casebridge.accounts.two_factor import TwoFactorPending, two_factor_pending
from casebridge.cases.api import router as cases_router
from casebridge.federation.api import router as federation_router
from casebridge.hotline.api import router as hotline_router
from casebridge.middleware import use_preferences
from casebridge.network.api import router as network_router
from casebridge.outcomes.api import router as outcomes_router
from casebridge.privacy.api import audit_router
from casebridge.privacy.api import router as privacy_router
from casebridge.procedures.api import router as procedures_router
from casebridge.refusals import Refusal
from casebridge.sharing.api import router as sharing_router
from casebridge.stats.api import router as stats_router
from casebridge.training.api import router as training_router


class TokenAuth(HttpBearer):
    """``Authorization: Bearer cb_…`` with a personal API token.

    ``request.api_token`` tells the step-up check (``accounts.stepup``) that a token, not
    a session, stands behind the request.
    """

    def authenticate(self, request, token: str):
        api_token = api_token_authenticate(token)
        if api_token is None:
            return None
        request.user = api_token.user
        request.api_token = api_token
        use_preferences(request, api_token.user)
        return api_token.user


class VerifiedSessionAuth(SessionAuth):
    """The browser session (with CSRF), once any second factor it needs has been given."""

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None and two_factor_pending(user):
            raise TwoFactorPending
        return user


ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {
        "detail": {"title": "Detail", "type": "string"},
        "fields": {
            "title": "Fields",
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail"],
}
COMMON_ERRORS = {
    "400": "The request body is not JSON.",
    "401": "Authentication required: no valid token or session.",
    "403": "Not allowed for your roles.",
    "404": "Not found, or not yours to see (the two are not told apart).",
    "422": "The input is not valid; `fields` names each field with its messages.",
}


class CasebridgeAPI(NinjaAPI):
    """Every operation may answer the common errors; the OpenAPI document says so."""

    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["CommonError"] = ERROR_SCHEMA
        reference = {"$ref": "#/components/schemas/CommonError"}
        for item in schema["paths"].values():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                for status, description in COMMON_ERRORS.items():
                    if status not in responses and int(status) not in responses:
                        responses[status] = {
                            "description": description,
                            "content": {"application/json": {"schema": reference}},
                        }
        return schema


api = CasebridgeAPI(
    title="casebridge API",
    version="1",
    description="Everything the pages do. Authenticate with a personal API token "
    "(`Authorization: Bearer cb_…`) or a browser session (with CSRF).",
    auth=[TokenAuth(), VerifiedSessionAuth()],
    urls_namespace="api",
)


def error_body(message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"detail": message, "fields": fields or {}}


@api.exception_handler(ValidationError)
def django_validation_error(request, exc: ValidationError):
    fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return api.create_response(
        request, error_body(_("The input is not valid."), fields), status=422
    )


@api.exception_handler(NinjaValidationError)
def input_validation_error(request, exc: NinjaValidationError):
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        where = [str(part) for part in error.get("loc", ())]
        location = [part for part in where if part not in ("body", "payload")]
        # An error of the body as a whole (not an object) names the body.
        name = ".".join(location) or ("body" if where[:1] == ["body"] else "__all__")
        fields.setdefault(name, []).append(error.get("msg", ""))
    return api.create_response(
        request, error_body(_("The input is not valid."), fields), status=422
    )


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, error_body(_("Not found.")), status=404)


@api.exception_handler(TwoFactorPending)
def two_factor_pending_response(request, exc):
    return api.create_response(
        request,
        error_body(
            _(
                "Two-factor authentication required: sign in completely in the browser "
                "(enter your authentication code) before using the API with this session."
            )
        ),
        status=403,
    )


@api.exception_handler(Refusal)
def refusal_response(request, exc: Refusal):
    """No recent confirmation, a token where a confirmed session is needed, an emergency
    access that only reads: 403 with a message saying which."""
    return api.create_response(request, error_body(str(exc)), status=403)


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    return api.create_response(
        request, error_body(_("You are not allowed to do this.")), status=403
    )


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return api.create_response(request, error_body(_("Authentication required.")), status=401)


# Each app's operations under their prefix (the step-up test walks every one of them).
ROUTERS = [
    ("/", accounts_router),
    ("/", network_router),
    ("/hotline", hotline_router),
    ("/cases", cases_router),
    ("/sop/protocols", procedures_router),
    ("/", outcomes_router),
    ("/sop", sharing_router),
    ("/privacy", privacy_router),
    ("/audit", audit_router),
    ("/stats", stats_router),
    ("/training", training_router),
    ("/federation", federation_router),
]
for prefix, router in ROUTERS:
    api.add_router(prefix, router)
__all__ = ["ROUTERS", "api"]
