"""The need-to-know policy: one set of rules, two evaluators (DESIGN.md invariants 1, 2).

``decide(actor, action, resource)`` answers for one object in memory and explains itself;
``visible(actor, queryset)`` compiles the same rules into a filter for lists. Both are
built from the same role facts (``_roles_by_organisation``), and a property test checks
that they always agree.

Covered so far: hotline contacts, referrals and the caller's identity on them. Case
content joins with the case-management work.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from casebridge.accounts.models import Membership, Role

HOTLINE_ROLES = frozenset({Role.HOTLINE_COUNSELLOR, Role.COORDINATOR})
PARTNER_ROLES = frozenset({Role.PARTNER_COUNSELLOR, Role.COORDINATOR})


class Action(StrEnum):
    VIEW = "view"
    CHANGE = "change"
    VIEW_IDENTITY = "view_identity"
    RESPOND = "respond"  # a partner answers a referral


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def _roles_by_organisation(actor) -> dict[int, frozenset[str]]:
    """Active roles per organisation id; cached on the user object for the request."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return {}
    cached = getattr(actor, "_casebridge_policy_roles", None)
    if cached is None:
        roles: dict[int, set[str]] = {}
        for organisation_id, role in (
            Membership.objects.active().filter(user=actor).values_list("organisation_id", "role")
        ):
            roles.setdefault(organisation_id, set()).add(role)
        cached = {org: frozenset(r) for org, r in roles.items()}
        actor._casebridge_policy_roles = cached
    return cached


def organisations_with(actor, roles: frozenset[str]) -> set[int]:
    """The organisations in which the actor holds one of ``roles`` now."""
    return {org for org, held in _roles_by_organisation(actor).items() if held & roles}


def can_take_calls(actor) -> bool:
    return bool(organisations_with(actor, frozenset({Role.HOTLINE_COUNSELLOR})))


# --- one object ------------------------------------------------------------------------


def decide(actor, action: str, resource) -> Decision:
    """Decide one access to one object; the reason names roles and organisations, never content."""
    from casebridge.hotline.models import Contact, Referral

    if isinstance(resource, Contact):
        return _decide_contact(actor, action, resource)
    if isinstance(resource, Referral):
        return _decide_referral(actor, action, resource)
    return Decision(False, _("denied: no rule covers %(kind)s") % {"kind": type(resource).__name__})


def _decide_contact(actor, action: str, contact) -> Decision:
    if contact.organisation_id in organisations_with(actor, HOTLINE_ROLES) and action in (
        Action.VIEW,
        Action.CHANGE,
        Action.VIEW_IDENTITY,
    ):
        return Decision(True, _("allowed: hotline staff of the organisation that took the contact"))
    return Decision(
        False,
        _("denied: contact %(reference)s belongs to the hotline that took it")
        % {"reference": contact.reference},
    )


def _decide_referral(actor, action: str, referral) -> Decision:
    hotline_side = referral.contact.organisation_id in organisations_with(actor, HOTLINE_ROLES)
    partner_side = referral.partner_id in organisations_with(actor, PARTNER_ROLES)
    if action == Action.VIEW and (hotline_side or partner_side):
        return Decision(True, _("allowed: sender or addressee of the referral"))
    if action == Action.CHANGE and hotline_side:
        return Decision(True, _("allowed: the hotline that sent the referral"))
    if action == Action.RESPOND and partner_side:
        return Decision(True, _("allowed: the partner the referral is addressed to"))
    if action == Action.VIEW_IDENTITY:
        if hotline_side:
            return Decision(True, _("allowed: the hotline that took the contact"))
        if partner_side and referral.mode == "consent" and referral.status in _IDENTITY_STATUSES:
            return Decision(True, _("allowed: the caller consented to pass on contact details"))
        if partner_side:
            return Decision(
                False, _("denied: the caller's identity is passed on only with recorded consent")
            )
    return Decision(
        False,
        _("denied: referral of %(reference)s is visible only to its sender and addressee")
        % {"reference": referral.contact.reference},
    )


_IDENTITY_STATUSES = ("sent", "accepted")


# --- lists: the same rules as a filter ---------------------------------------------------


def visible(actor, queryset: QuerySet, action: str = Action.VIEW) -> QuerySet:
    """Restrict ``queryset`` to what ``decide(actor, action, obj)`` allows, in the database."""
    from casebridge.hotline.models import Contact, Referral

    hotline = organisations_with(actor, HOTLINE_ROLES)
    partner = organisations_with(actor, PARTNER_ROLES)
    if queryset.model is Contact:
        if action in (Action.VIEW, Action.CHANGE, Action.VIEW_IDENTITY):
            return queryset.filter(organisation_id__in=hotline)
        return queryset.none()
    if queryset.model is Referral:
        if action == Action.VIEW:
            return queryset.filter(
                Q(contact__organisation_id__in=hotline) | Q(partner_id__in=partner)
            )
        if action == Action.CHANGE:
            return queryset.filter(contact__organisation_id__in=hotline)
        if action == Action.RESPOND:
            return queryset.filter(partner_id__in=partner)
        if action == Action.VIEW_IDENTITY:
            return queryset.filter(
                Q(contact__organisation_id__in=hotline)
                | Q(partner_id__in=partner, mode="consent", status__in=_IDENTITY_STATUSES)
            )
    return queryset.none()
