"""The REST API: /api/v1/, OpenAPI document at /api/v1/openapi.json, docs at /api/v1/docs."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, django_auth

from casebridge.accounts.services import api_token_authenticate


class TokenAuth(HttpBearer):
    """``Authorization: Bearer cb_…`` with a personal API token."""

    def authenticate(self, request, token: str):
        user = api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="casebridge API",
    version="1",
    description="Everything the pages do. Authenticate with a personal API token "
    "(`Authorization: Bearer cb_…`) or a browser session (with CSRF).",
    auth=[TokenAuth(), django_auth],
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
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload")]
        fields.setdefault(".".join(location) or "__all__", []).append(error.get("msg", ""))
    return api.create_response(
        request, error_body(_("The input is not valid."), fields), status=422
    )


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, error_body(_("Not found.")), status=404)


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    return api.create_response(
        request, error_body(_("You are not allowed to do this.")), status=403
    )


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return api.create_response(request, error_body(_("Authentication required.")), status=401)


def _register_routers() -> None:
    from casebridge.accounts.api import router as accounts_router
    from casebridge.cases.api import router as cases_router
    from casebridge.hotline.api import router as hotline_router
    from casebridge.network.api import router as network_router
    from casebridge.sharing.api import router as sharing_router
    from casebridge.training.api import router as training_router

    api.add_router("/", accounts_router)
    api.add_router("/", network_router)
    api.add_router("/hotline", hotline_router)
    api.add_router("/cases", cases_router)
    api.add_router("/sop", sharing_router)
    api.add_router("/training", training_router)


_register_routers()
__all__ = ["api"]
