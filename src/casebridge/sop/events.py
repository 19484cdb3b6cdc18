"""The events a standard operating procedure can react to, and the scales of a risk judgement.

Events are raised by the services (a case opened, a risk judgement recorded, ...) or
recorded by a participant (travel plans, a release date, a child welfare concern).
"""

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

EVENTS = {
    "case_opened": _("case opened"),
    "participant_added": _("participant added"),
    "risk_judgement_recorded": _("risk judgement recorded"),
    "travel_to_conflict_zone": _("planned travel to a conflict zone"),
    "release_scheduled": _("release from prison scheduled"),
    "child_welfare_concern": _("child welfare concern"),
    "consent_withdrawn": _("consent withdrawn"),
    "case_closed": _("case closed"),
    # another organisation took the case over (a transfer): its lead worker is new to the
    # other participants
    "case_transferred": _("case transferred to another organisation"),
    # A standing rule: in force at every event (used for "must not share" barriers).
    "always": _("always"),
}
# Events of a hotline contact (no case yet): the first analysis on the phone raises them.
# Their rules name an organisation type or a sector; the hotline finds the organisation
# of that type for the caller's region (access.protocol.contact_event_raise).
HOTLINE_EVENTS = {
    "danger_to_others": _("danger to others"),
    "danger_to_self": _("danger to self"),
    "child_at_risk": _("child at risk"),
}
# Events a participant records by hand (the others are raised by what happens in the case).
RECORDED_EVENTS = ("travel_to_conflict_zone", "release_scheduled", "child_welfare_concern")


class RiskLevel(TextChoices):
    """The 2020 federal/state guideline's likelihood scale, as a professional judges it."""

    UNLIKELY = "unlikely", _("unlikely")
    LIKELY = "likely", _("likely")
    PREDOMINANTLY_LIKELY = "predominantly_likely", _("predominantly likely")
    VERY_LIKELY = "very_likely", _("very likely")


class Imminence(TextChoices):
    NOT_FORESEEABLE = "not_foreseeable", _("not foreseeable")
    MEDIUM_TERM = "medium_term", _("medium-term")
    IMMINENT = "imminent", _("imminent")


# the scales in order, lowest first: a rule's condition names a minimum on each
LIKELIHOOD = [level.value for level in RiskLevel]
IMMINENCE = [level.value for level in Imminence]
OBLIGATIONS = ("must_inform", "may_inform", "must_not_share")
# without_delay | within_hours:N | within_days:N | days_before_event:N
DEADLINE_PATTERN = (
    r"^(without_delay|within_hours:\d{1,3}|within_days:\d{1,3}|days_before_event:\d{1,3})$"
)
