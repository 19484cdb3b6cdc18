"""API operations for the signed-in user, their tokens, and user management."""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from casebridge.accounts import selectors, services
from casebridge.accounts.models import ApiToken, Membership, Role, organisation_model
from casebridge.accounts.permissions import can_administer
from casebridge.accounts.stepup import step_up
from casebridge.apischema import Error, Input, Instant

router = Router(tags=["accounts"])


class MembershipOut(Schema):
    id: int
    organisation_id: int
    organisation_name: str = Field(alias="organisation.name")
    role: Role
    job_title: str
    valid_from: datetime
    valid_until: datetime | None
    is_active: bool


class UserOut(Schema):
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    language: str
    time_zone: str
    is_active: bool


class UserDetailOut(UserOut):
    memberships: list[MembershipOut]


class TokenIn(Input):
    name: str = Field(min_length=1, max_length=80)
    expires_at: Instant | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    origin: ApiToken.Origin = Field(
        description="where the token was created: page, session_api (the API in a browser "
        "session), command (the operator's command line) or unrecorded (before origins were kept)"
    )
    second_factor: bool = Field(description="created in a session that gave a second factor")


class TokenCreatedOut(TokenOut):
    secret: str


class UserIn(Input):
    username: str = Field(min_length=1, max_length=150, pattern=r"^[\w.@+-]+$")
    first_name: str = Field(min_length=1, max_length=150)
    last_name: str = Field(min_length=1, max_length=150)
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=200)
    language: str = Field(default="de", pattern="^(de|en)$")


class UserPatch(Input):
    first_name: str | None = Field(default=None, min_length=1, max_length=150)
    last_name: str | None = Field(default=None, min_length=1, max_length=150)
    email: str | None = Field(default=None, min_length=3, max_length=254)
    language: str | None = Field(default=None, pattern="^(de|en)$")
    time_zone: str | None = Field(default=None, max_length=64)


class MembershipIn(Input):
    organisation_id: int
    role: Role
    job_title: str = Field(default="", max_length=120)
    valid_until: Instant | None = None


def _administrator(request) -> None:
    if not can_administer(request.user):
        raise PermissionDenied


def _user_detail(user) -> dict:
    data = UserOut.from_orm(user).dict()
    data["memberships"] = list(selectors.memberships_of(user))
    return data


@router.get("/me", response=UserDetailOut, summary="The signed-in user with their roles")
def me(request):
    return _user_detail(request.user)


@router.get("/tokens", response=list[TokenOut], summary="Your personal API tokens")
def token_list(request):
    return selectors.tokens_of(request.user)


@router.post(
    "/tokens",
    response={201: TokenCreatedOut, 403: Error, 422: Error},
    summary="Create a token in a confirmed browser session; the secret is in this response only",
    description="A token cannot create tokens (403): it could otherwise outlive and "
    "outrank the token that made it. Use the browser session after “Confirm it is you”.",
)
@step_up("accounts.token.create")
def token_create(request, payload: TokenIn):
    token, secret = services.api_token_create(actor=request.user, **payload.dict())
    return Status(201, {**TokenOut.from_orm(token).dict(), "secret": secret})


@router.post("/tokens/{token_id}/revoke", response={200: TokenOut, 404: Error})
def token_revoke(request, token_id: int):
    token = selectors.own_token(request.user, token_id)
    return services.api_token_revoke(actor=request.user, token=token)


@router.get("/users", response={200: list[UserOut], 403: Error}, summary="Users (administrators)")
def user_list(request, q: str = Query("", max_length=100)):
    _administrator(request)
    return selectors.user_list(query=q)


@router.post("/users", response={201: UserDetailOut, 403: Error, 422: Error})
def user_create(request, payload: UserIn):
    _administrator(request)
    user = services.user_create(actor=request.user, **payload.dict())
    return Status(201, _user_detail(user))


@router.get("/users/{user_id}", response={200: UserDetailOut, 403: Error, 404: Error})
def user_detail(request, user_id: int):
    _administrator(request)
    return _user_detail(selectors.user_detail(user_id))


@router.patch("/users/{user_id}", response={200: UserDetailOut, 403: Error, 404: Error, 422: Error})
def user_update(request, user_id: int, payload: UserPatch):
    _administrator(request)
    user = selectors.user_detail(user_id)
    services.user_update(actor=request.user, user=user, **payload.dict(exclude_none=True))
    return _user_detail(user)


@router.post(
    "/users/{user_id}/disable", response={200: UserDetailOut, 403: Error, 404: Error, 422: Error}
)
def user_disable(request, user_id: int):
    """Disable an account: its sessions end and its tokens are revoked."""
    _administrator(request)
    user = selectors.user_detail(user_id)
    services.user_set_active(actor=request.user, user=user, active=False)
    return _user_detail(user)


@router.post("/users/{user_id}/enable", response={200: UserDetailOut, 403: Error, 404: Error})
def user_enable(request, user_id: int):
    _administrator(request)
    user = selectors.user_detail(user_id)
    services.user_set_active(actor=request.user, user=user, active=True)
    return _user_detail(user)


class TwoFactorResetOut(Schema):
    removed: int


class UnlockOut(Schema):
    lifted: int


@router.post(
    "/users/{user_id}/two-factor/reset",
    response={200: TwoFactorResetOut, 403: Error, 404: Error},
    summary="Remove a user's authenticator and backup codes (administrators)",
)
def two_factor_reset(request, user_id: int):
    _administrator(request)
    user = selectors.user_detail(user_id)
    return {"removed": services.two_factor_reset(actor=request.user, user=user)}


@router.post(
    "/users/{user_id}/unlock",
    response={200: UnlockOut, 403: Error, 404: Error},
    summary="Lift a sign-in lock on a user's username (administrators)",
)
def user_unlock(request, user_id: int):
    _administrator(request)
    user = selectors.user_detail(user_id)
    return {"lifted": services.login_unlock(actor=request.user, user=user)}


@router.post(
    "/users/{user_id}/memberships",
    response={201: MembershipOut, 403: Error, 404: Error, 422: Error},
)
def membership_add(request, user_id: int, payload: MembershipIn):
    _administrator(request)
    user = selectors.user_detail(user_id)
    organisations = organisation_model().objects.filter(active=True)
    organisation = organisations.filter(pk=payload.organisation_id).first()
    if organisation is None:
        raise ValidationError({"organisation_id": [_("Unknown organisation.")]})
    membership = services.membership_add(
        actor=request.user,
        user=user,
        organisation=organisation,
        role=payload.role,
        job_title=payload.job_title,
        valid_until=payload.valid_until,
    )
    return Status(201, membership)


@router.post(
    "/memberships/{membership_id}/end",
    response={200: MembershipOut, 403: Error, 404: Error, 422: Error},
)
def membership_end(request, membership_id: int):
    _administrator(request)
    membership = get_object_or_404(
        Membership.objects.select_related("organisation"), pk=membership_id
    )
    return services.membership_end(actor=request.user, membership=membership)
