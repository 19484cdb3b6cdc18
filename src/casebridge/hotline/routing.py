"""Rank local counselling partners for a contact, and say why (the hotline's distributive function).

The ranking is lexicographic and therefore explainable, in this order:
1. how closely a coverage matches the caller's region (district, then state, then country);
2. how many of the needed services the partner lacks (fewer first);
3. whether it counsels in the needed language;
4. whether it has free capacity this month;
5. distance from the postcode's centre to the partner's seat.
It ranks organisations, never people.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from casebridge.cooperation_models.models import Term
from casebridge.hotline.models import Referral
from casebridge.labels import pick_label
from casebridge.network.models import COUNSELLING_SECTORS, Organisation, Region
from casebridge.network.selectors import PostcodeResolution, region_for_postcode

INDEX_SECONDS = 60  # coverage edits reach routing within a minute in every worker
MATCH_LEVEL = {"municipality": 4, "district": 3, "state": 2, "country": 1}


@dataclass(frozen=True)
class _Cover:
    region_id: int
    level: int
    services: frozenset[str]
    languages: frozenset[str]
    capacity: int


@dataclass(frozen=True)
class _Partner:
    organisation_id: int
    name: str
    latitude: float | None
    longitude: float | None
    covers: tuple[_Cover, ...]


@dataclass
class Suggestion:
    organisation_id: int
    name: str
    match_level: int
    matched_region: str
    missing_services: list[str]
    language_ok: bool
    free_capacity: int
    capacity: int
    distance_km: float | None
    reasons: list[str] = field(default_factory=list)

    def sort_key(self):
        distance = self.distance_km if self.distance_km is not None else math.inf
        return (
            -self.match_level,
            len(self.missing_services),
            not self.language_ok,
            self.free_capacity <= 0,
            distance,
            self.name,
        )


_index: tuple[float, list[_Partner], dict[str, dict]] | None = None


def invalidate_index() -> None:
    global _index
    _index = None
    invalidate_capacity()


def _partners() -> tuple[list[_Partner], dict[str, dict]]:
    """The counselling partners with their coverage and the labels of services and
    languages, cached briefly per process."""
    global _index
    now = time.monotonic()
    if _index is not None and now - _index[0] < INDEX_SECONDS:
        return _index[1], _index[2]
    organisations = (
        Organisation.objects.filter(
            active=True, is_hotline=False, type__sector__code__in=COUNSELLING_SECTORS
        )
        .prefetch_related("coverages__region", "coverages__services", "coverages__languages")
        .order_by("name")
    )
    partners = [
        _Partner(
            organisation_id=o.pk,
            name=o.name,
            latitude=o.latitude,
            longitude=o.longitude,
            covers=tuple(
                _Cover(
                    region_id=c.region_id,
                    level=MATCH_LEVEL.get(c.region.level, 0),
                    services=frozenset(t.code for t in c.services.all()),
                    languages=frozenset(t.code for t in c.languages.all()),
                    capacity=c.capacity,
                )
                for c in o.coverages.all()
            ),
        )
        for o in organisations
    ]
    labels = dict(
        Term.objects.filter(kind__in=["service", "language"]).values_list("code", "labels")
    )
    _index = (now, partners, labels)
    return partners, labels


def _kilometres(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


_capacity: tuple[float, dict[int, int]] | None = None
CAPACITY_SECONDS = 10  # counts may lag this long in other workers; this one is told at once


def invalidate_capacity() -> None:
    global _capacity
    _capacity = None


def _open_referrals(partner_ids: list[int]) -> dict[int, int]:
    """Referrals that use a partner's capacity this month (sent or accepted), cached briefly."""
    global _capacity
    now_seconds = time.monotonic()
    if _capacity is not None and now_seconds - _capacity[0] < CAPACITY_SECONDS:
        return _capacity[1]
    counts = _count_open_referrals(partner_ids)
    _capacity = (now_seconds, counts)
    return counts


def _count_open_referrals(partner_ids: list[int]) -> dict[int, int]:

    now = timezone.localtime()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rows = (
        Referral.objects.filter(partner_id__in=partner_ids, sent_at__gte=month_start)
        .filter(Q(status=Referral.Status.SENT) | Q(status=Referral.Status.ACCEPTED))
        .values("partner_id")
        .annotate(count=Count("id"))
    )
    return {row["partner_id"]: row["count"] for row in rows}


def suggest(
    *,
    place: PostcodeResolution | None = None,
    region: Region | None = None,
    services: list[str] | None = None,
    language: str = "",
    limit: int = 5,
) -> list[Suggestion]:
    """Rank partners for a caller's place (a resolved postcode or a region)."""
    if place is not None:
        region = place.region
    if region is None:
        raise ValueError("suggest() needs a place or a region")
    path = {r.pk: r for r in region.path()}
    needed = list(dict.fromkeys(services or []))
    partners, labels = _partners()
    used = _open_referrals([p.organisation_id for p in partners])
    suggestions = []
    for partner in partners:
        matching = [c for c in partner.covers if c.region_id in path]
        best = max(matching, key=lambda c: c.level, default=None)
        pool = matching or list(partner.covers)
        offered = frozenset().union(*(c.services for c in pool)) if pool else frozenset()
        languages = frozenset().union(*(c.languages for c in pool)) if pool else frozenset()
        capacity = best.capacity if best else max((c.capacity for c in pool), default=0)
        distance = None
        if place is not None and place.latitude is not None and partner.latitude is not None:
            distance = _kilometres(
                place.latitude, place.longitude, partner.latitude, partner.longitude
            )
        suggestion = Suggestion(
            organisation_id=partner.organisation_id,
            name=partner.name,
            match_level=best.level if best else 0,
            matched_region=pick_label(path[best.region_id].labels) if best else "",
            missing_services=[s for s in needed if s not in offered],
            language_ok=not language or language in languages,
            free_capacity=capacity - used.get(partner.organisation_id, 0),
            capacity=capacity,
            distance_km=round(distance, 1) if distance is not None else None,
        )
        suggestions.append(suggestion)
    suggestions.sort(key=Suggestion.sort_key)
    chosen = suggestions[:limit]
    for suggestion in chosen:
        suggestion.reasons = _reasons(suggestion, region, language, labels, bool(needed))
    return chosen


def _reasons(
    s: Suggestion, region: Region, language: str, labels: dict, services_asked: bool
) -> list[str]:
    def label(code: str) -> str:
        return pick_label(labels.get(code, {}), fallback=code)

    reasons = []
    if s.match_level:
        reasons.append(_("covers %(region)s") % {"region": s.matched_region})
    else:
        reasons.append(_("does not cover %(region)s") % {"region": region.label})
    if s.missing_services:
        reasons.append(
            _("does not offer: %(services)s")
            % {"services": ", ".join(label(code) for code in s.missing_services)}
        )
    elif services_asked:
        reasons.append(_("offers every service needed"))
    if language:
        reasons.append(
            _("counsels in %(language)s") % {"language": label(language)}
            if s.language_ok
            else _("does not counsel in %(language)s") % {"language": label(language)}
        )
    if s.free_capacity > 0:
        reasons.append(
            _("%(free)s of %(capacity)s places free this month")
            % {"free": s.free_capacity, "capacity": s.capacity}
        )
    else:
        reasons.append(_("no free places this month"))
    if s.distance_km is not None:
        reasons.append(_("%(km)s km away") % {"km": s.distance_km})
    return reasons


def suggest_for_postcode(postcode: str, **options) -> tuple[PostcodeResolution, list[Suggestion]]:
    """Resolve the postcode (raising ``PostcodeError``) and rank partners for it."""
    place = region_for_postcode(postcode)
    return place, suggest(place=place, **options)
