"""What a user's roles allow outside case content (which the sharing policy decides)."""

from __future__ import annotations

from casebridge.accounts.models import Membership, Role


def active_roles(user) -> set[str]:
    """Return the roles of the user's memberships that are in force now (cached per request)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    cached = getattr(user, "_casebridge_roles", None)
    if cached is None:
        cached = set(Membership.objects.active().filter(user=user).values_list("role", flat=True))
        user._casebridge_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(active_roles(user) & set(roles))


def can_administer(user) -> bool:
    """Administrators manage organisations, users and memberships (never case content)."""
    return has_role(user, Role.ADMINISTRATOR)


def can_manage_contact_points(user, organisation) -> bool:
    """Administrators, and the organisation's own staff, name its contact points."""
    if can_administer(user):
        return True
    return Membership.objects.active().filter(user=user, organisation=organisation).exists()
