"""What a user's roles allow outside case content (which the sharing policy decides)."""

from __future__ import annotations

from casebridge.accounts.models import Membership, Role
from casebridge.facts import fact


def active_roles(user) -> set[str]:
    """Return the network roles of the user's memberships in force now (cached per request).

    An invited professional's guest role is not one: it is a seat in one case, not a
    membership of the network (its meetings, lessons, training, statistics)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    return {
        role
        for roles in roles_by_organisation(user).values()
        for role in roles
        if role != Role.GUEST
    }


def roles_by_organisation(user) -> dict[int, frozenset[str]]:
    """The user's roles in force now, per organisation id (one query per request)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}

    def derive() -> dict[int, frozenset[str]]:
        roles: dict[int, set[str]] = {}
        memberships = Membership.objects.active().filter(user=user)
        for organisation_id, role in memberships.values_list("organisation_id", "role"):
            roles.setdefault(organisation_id, set()).add(role)
        return {organisation: frozenset(held) for organisation, held in roles.items()}

    return fact(user, "roles", derive)


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
