from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from casebridge.access.policy import (
    CASE_WORK_ROLES,
    HOTLINE_ROLES,
    PARTNER_ROLES,
    organisations_with,
)
from casebridge.accounts.models import Role
from casebridge.accounts.permissions import active_roles, can_administer
from casebridge.federation.selectors import may_use_federation
from casebridge.stats.selectors import STATS_ROLES


def navigation(request):
    """The main navigation for the signed-in user; items depend on the role."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = [(reverse("home"), _("Overview"))]
    if organisations_with(user, frozenset({Role.HOTLINE_COUNSELLOR})):
        items.append((reverse("hotline:intake"), _("Intake")))
    if organisations_with(user, HOTLINE_ROLES):
        items.append((reverse("hotline:contacts"), _("Contacts")))
    if organisations_with(user, PARTNER_ROLES):
        items.append((reverse("hotline:inbox"), _("Referrals")))
    if organisations_with(user, CASE_WORK_ROLES):
        items.append((reverse("cases:list"), _("Cases")))
        items.append((reverse("sharing:tasks"), _("Tasks")))
    elif organisations_with(user, frozenset({Role.GUEST})):
        items.append((reverse("cases:list"), _("Cases")))  # an invited professional's case
    if organisations_with(user, frozenset({Role.DATA_PROTECTION_OFFICER})):
        items.append((reverse("sharing:register"), _("Disclosure register")))
        items.append((reverse("audit:log"), _("Audit log")))
        items.append((reverse("privacy:requests"), _("Subject requests")))
    if organisations_with(user, frozenset({Role.COORDINATOR})):
        items.append((reverse("sharing:emergency"), _("Emergency access")))
        items.append((reverse("network:contact_point_gaps"), _("Contact point gaps")))
        items.append((reverse("network:organisation_proposals"), _("Proposed organisations")))
    if organisations_with(user, frozenset({Role.DATA_PROTECTION_OFFICER})):
        items.append((reverse("sharing:emergency_reviews"), _("Emergency access reviews")))
    # statistics: the network for coordinators and DPOs, one's own organisation otherwise
    if organisations_with(user, STATS_ROLES):
        items.append((reverse("stats:dashboard"), _("Statistics")))
    # cooperation with partner installations (issue 22)
    if may_use_federation(user):
        items.append((reverse("federation:overview"), _("Partner installations")))
    # The network around the cases, for every member (issue 8).
    if active_roles(user):
        if not organisations_with(user, CASE_WORK_ROLES):
            items.append((reverse("sharing:tasks"), _("Tasks")))  # meeting action items
        items.append((reverse("network:meetings"), _("Meetings")))
        items.append((reverse("network:lessons"), _("Lessons learned")))
        items.append((reverse("training:runs"), _("Training")))
        # the agreed procedures, and the drafts one is named to sign (issue 19)
        items.append((reverse("procedures:list"), _("Procedures")))
    items += [
        (reverse("network:organisations"), _("Directory")),
        (reverse("network:contact_points"), _("Contact points")),
    ]
    if can_administer(user):
        items.append((reverse("accounts:admin_users"), _("Users")))
        items.append((reverse("network:admin_organisations"), _("Manage organisations")))
    return {"nav_items": items}
