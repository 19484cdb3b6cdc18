"""Reads about accounts."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from casebridge.accounts import sso
from casebridge.accounts.models import (
    ApiToken,
    ExternalIdentity,
    LoginLockout,
    LoginScope,
    Membership,
    User,
    organisation_model,
)


def user_list(*, query: str = "", organisation_id: int | None = None) -> QuerySet[User]:
    users = User.objects.prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.active().select_related("organisation"),
            to_attr="active_memberships",
        )
    )
    for word in query.split()[:5]:
        users = users.filter(
            Q(username__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
        )
    if organisation_id:
        users = users.filter(memberships__organisation_id=organisation_id).distinct()
    return users.order_by("last_name", "first_name", "username")


def user_detail(user_id: int) -> User:
    return get_object_or_404(User, pk=user_id)


def memberships_of(user: User) -> QuerySet[Membership]:
    return user.memberships.select_related("organisation").order_by("-valid_from")


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return user.api_tokens.all()


def own_token(user: User, token_id: int) -> ApiToken:
    """Return one of the user's own tokens; another user's token answers 404."""
    return get_object_or_404(ApiToken, pk=token_id, user=user)


def active_lockout(user: User) -> LoginLockout | None:
    """The sign-in lock on the user's account now in force, if any."""
    return (
        LoginLockout.objects.filter(
            scope=LoginScope.USERNAME, user=user, until__gt=timezone.now(), lifted_at__isnull=True
        )
        .order_by("-until")
        .first()
    )


def sso_choices() -> list[tuple[str, str]]:
    """The organisations whose staff sign in with their own identity provider, as (code,
    label) for the sign-in page, by label."""
    configured = sso.providers()
    if not configured:
        return []
    names = dict(
        organisation_model()
        .objects.filter(code__in=configured, active=True)
        .values_list("code", "name")
    )
    choices = [
        (code, provider.label or names[code])
        for code, provider in configured.items()
        if code in names
    ]
    return sorted(choices, key=lambda choice: choice[1].casefold())


def external_identity_of(user) -> ExternalIdentity | None:
    """How the user signs in through their organisation's provider (None: with a password)."""
    return ExternalIdentity.objects.select_related("organisation").filter(user=user).first()
