"""Load a validated cooperation model into the database, idempotently."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from casebridge.audit.services import audit_record
from casebridge.changes import assign_changes
from casebridge.cooperation_models.models import CooperationModel, Term
from casebridge.cooperation_models.schema import TERM_TABLES, ModelSpec
from casebridge.facts import changed as facts_changed
from casebridge.federation.models import Agreement
from casebridge.hotline.routing import invalidate_index
from casebridge.network.models import (
    Coverage,
    Organisation,
    OrganisationType,
    PostcodeArea,
    Region,
    Sector,
)
from casebridge.network.selectors import invalidate_geography
from casebridge.sharing.models import Protocol


class ModelConflict(Exception):
    """The database already runs on a different cooperation model."""


@dataclass
class LoadReport:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    retired: Counter = field(default_factory=Counter)
    deleted: Counter = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return any(
            sum(counter.values())
            for counter in (self.created, self.updated, self.retired, self.deleted)
        )

    def lines(self) -> list[str]:
        kinds = sorted(
            set(self.created) | set(self.updated) | set(self.retired) | set(self.deleted)
        )
        kinds = [
            kind
            for kind in kinds
            if self.created[kind] + self.updated[kind] + self.retired[kind] + self.deleted[kind]
        ]
        return [
            f"{kind}: {self.created[kind]} created, {self.updated[kind]} updated, "
            f"{self.retired[kind]} retired, {self.deleted[kind]} deleted"
            for kind in kinds
        ]


def _labels(entry) -> dict:
    return dict(getattr(entry, "label", None) or entry.name)


def _sync(report: LoadReport, kind: str, model, lookup: dict, values: dict):
    """Create or update one row; count only real changes so a second load reports none."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model.objects.create(**lookup, **values)
        report.created[kind] += 1
        return obj
    changed = assign_changes(obj, values, allowed=values)
    if changed:
        obj.save(update_fields=changed)
        report.updated[kind] += 1
    return obj


def _retire(report: LoadReport, kind: str, queryset) -> None:
    """Mark rows the file no longer declares as inactive; records may still point to them."""
    count = queryset.filter(active=True).update(active=False)
    report.retired[kind] += count


@transaction.atomic
def model_load(*, spec: ModelSpec, actor=None) -> LoadReport:
    """Write ``spec`` to the database; loading the same file twice changes nothing.

    Entries the file no longer declares are retired (``active=False``), never deleted,
    because contacts, cases and statistics may point to them. Only postcodes, which no
    record points to, are deleted when dropped.
    """
    header = spec.header
    existing = CooperationModel.objects.first()
    if existing and existing.code != header.code:
        raise ModelConflict(
            f'the database runs on model "{existing.code}"; '
            f'"{header.code}" cannot be loaded into it'
        )
    report = LoadReport()
    settings = {
        "languages": header.languages,
        "time_zone": header.time_zone,
        "postcode_pattern": header.postcode_pattern,
        "statistics_threshold": header.statistics_threshold,
        "first_contact_target_days": header.first_contact_target_days,
        "follow_up_months": list(header.follow_up_months),
        "statistics": {"k": spec.statistics_k},
    }
    # Retention periods (privacy.retention reads them); absent table, no retention rules.
    settings["retention"] = spec.retention.model_dump() if spec.retention else None
    # This installation as federation partners know it (issue 22); None: no federation.
    federation = spec.federation
    settings["federation"] = (
        {"installation": federation.installation, "name": dict(federation.name)}
        if federation
        else None
    )
    record = _sync(
        report,
        "model",
        CooperationModel,
        {"code": header.code},
        {
            "labels": dict(header.name),
            "version": header.version,
            "country": header.country,
            "source": spec.source,
            "digest": spec.digest,
            "settings": settings,
        },
    )

    for position, entry in enumerate(spec.entries("sectors")):
        _sync(
            report,
            "sector",
            Sector,
            {"code": entry.code},
            {
                "labels": _labels(entry),
                "position": position,
                "active": True,
                "never_by_scope": list(entry.never_by_scope),
                "two_factor": entry.two_factor,
            },
        )
    _retire(
        report, "sector", Sector.objects.exclude(code__in=[e.code for e in spec.entries("sectors")])
    )

    sectors = {s.code: s for s in Sector.objects.all()}
    for position, entry in enumerate(spec.entries("organisation_types")):
        _sync(
            report,
            "organisation_type",
            OrganisationType,
            {"code": entry.code},
            {
                "labels": _labels(entry),
                "sector": sectors[entry.sector],
                "position": position,
                "active": True,
            },
        )
    _retire(
        report,
        "organisation_type",
        OrganisationType.objects.exclude(
            code__in=[e.code for e in spec.entries("organisation_types")]
        ),
    )

    for table, kind in TERM_TABLES.items():
        entries = spec.entries(table)
        for position, entry in enumerate(entries):
            attributes = entry.model_dump(exclude={"code", "label"}, exclude_defaults=True)
            _sync(
                report,
                kind,
                Term,
                {"kind": kind, "code": entry.code},
                {
                    "labels": _labels(entry),
                    "position": position,
                    "attributes": attributes,
                    "active": True,
                },
            )
        _retire(
            report, kind, Term.objects.filter(kind=kind).exclude(code__in=[e.code for e in entries])
        )

    _load_regions(report, spec)
    _load_postcodes(report, spec)
    _load_organisations(report, spec)
    _load_protocols(report, spec)
    _load_agreements(report, spec)

    if report.changed:
        # Forget now (this process) and again after commit (a reader may have cached
        # the old state in between).
        _forget_cached_geography()
        transaction.on_commit(_forget_cached_geography)
        facts_changed()  # terms were retired with update(), past the signals
        record.loaded_at = timezone.now()
        record.save(update_fields=["loaded_at"])
        audit_record(
            actor=actor,
            action="cooperation_model.load",
            obj=record,
            details={
                "version": header.version,
                "digest": spec.digest,
                "created": sum(report.created.values()),
                "updated": sum(report.updated.values()),
                "retired": sum(report.retired.values()),
            },
        )
    return report


def _forget_cached_geography() -> None:

    invalidate_geography()
    invalidate_index()


def _load_regions(report: LoadReport, spec: ModelSpec) -> None:
    regions = spec.entries("regions")
    # Parents first: the file may list them in any order, the levels are strictly ordered.
    order = {"country": 0, "state": 1, "district": 2, "municipality": 3}
    saved: dict[str, Region] = {}
    for entry in sorted(regions, key=lambda e: order[e.level]):
        saved[entry.code] = _sync(
            report,
            "region",
            Region,
            {"code": entry.code},
            {
                "labels": dict(entry.name),
                "level": entry.level,
                "parent": saved.get(entry.parent) if entry.parent else None,
                "postcode_prefixes": list(entry.postcode_prefixes),
                "active": True,
            },
        )
    _retire(report, "region", Region.objects.exclude(code__in=list(saved)))


def _load_postcodes(report: LoadReport, spec: ModelSpec) -> None:
    regions = dict(Region.objects.values_list("code", "id"))
    wanted = {row.postcode: row for row in spec.postcodes}
    current = {
        p.postcode: p
        for p in PostcodeArea.objects.only("postcode", "region_id", "latitude", "longitude")
    }
    new, changed = [], []
    for postcode, row in wanted.items():
        values = (regions[row.region], row.latitude, row.longitude)
        area = current.get(postcode)
        if area is None:
            new.append(
                PostcodeArea(
                    postcode=postcode, region_id=values[0], latitude=values[1], longitude=values[2]
                )
            )
        elif (area.region_id, area.latitude, area.longitude) != values:
            area.region_id, area.latitude, area.longitude = values
            changed.append(area)
    PostcodeArea.objects.bulk_create(new, batch_size=2000)
    PostcodeArea.objects.bulk_update(
        changed, ["region_id", "latitude", "longitude"], batch_size=2000
    )
    gone = [code for code in current if code not in wanted]
    for start in range(0, len(gone), 500):
        PostcodeArea.objects.filter(postcode__in=gone[start : start + 500]).delete()
    report.created["postcode"] += len(new)
    report.updated["postcode"] += len(changed)
    report.deleted["postcode"] += len(gone)


def _load_organisations(report: LoadReport, spec: ModelSpec) -> None:
    types = {t.code: t for t in OrganisationType.objects.all()}
    regions = {r.code: r for r in Region.objects.all()}
    terms = {(t.kind, t.code): t for t in Term.objects.filter(kind__in=["service", "language"])}
    declared = []
    for entry in spec.entries("organisations"):
        declared.append(entry.code)
        latitude, longitude = entry.coordinates or (None, None)
        organisation = _sync(
            report,
            "organisation",
            Organisation,
            {"code": entry.code},
            {
                "name": entry.name,
                "short_name": entry.short_name,
                "type": types[entry.type],
                "governance": entry.governance,
                "is_hotline": entry.hotline,
                "description": entry.description,
                "street": entry.street,
                "postcode": entry.postcode,
                "city": entry.city,
                "region": regions[spec.organisation_regions[entry.code]],
                "latitude": latitude,
                "longitude": longitude,
                "phone": entry.phone,
                "email": entry.email,
                "website": entry.website,
                "active": True,
                "from_model": True,
            },
        )
        _load_coverage(report, organisation, entry.coverage, regions, terms)
    _retire(
        report,
        "organisation",
        Organisation.objects.filter(from_model=True).exclude(code__in=declared),
    )


def _load_coverage(report, organisation, coverage, regions, terms) -> None:
    existing = {
        c.region_id: c for c in organisation.coverages.prefetch_related("services", "languages")
    }
    keep = set()
    for cover in coverage:
        services = {terms[("service", code)].id for code in cover.services}
        languages = {terms[("language", code)].id for code in cover.languages}
        for code in cover.regions:
            region = regions[code]
            keep.add(region.id)
            row = existing.get(region.id)
            if row is None:
                row = Coverage.objects.create(
                    organisation=organisation, region=region, capacity=cover.capacity
                )
                row.services.set(services)
                row.languages.set(languages)
                report.created["coverage"] += 1
                continue
            same = (
                row.capacity == cover.capacity
                and {s.id for s in row.services.all()} == services
                and {lang.id for lang in row.languages.all()} == languages
            )
            if not same:
                row.capacity = cover.capacity
                row.save(update_fields=["capacity"])
                row.services.set(services)
                row.languages.set(languages)
                report.updated["coverage"] += 1
    stale = [row.id for region_id, row in existing.items() if region_id not in keep]
    if stale:
        Coverage.objects.filter(id__in=stale).delete()
        report.deleted["coverage"] += len(stale)


def _load_protocols(report: LoadReport, spec: ModelSpec) -> None:
    """Protocol versions are kept; a version the file no longer lists is retired.

    The file seeds a procedure; once the parties put a version into force through the
    agreement (issue 19: drafted, signed, activated in the pages), that procedure's
    versions are theirs: a reload neither changes nor retires any version of it, and never
    touches a version drafted in the pages."""
    agreed = set(Protocol.objects.filter(activated_at__isnull=False).values_list("code", flat=True))
    declared = []
    for entry in spec.entries("protocols"):
        declared.append((entry.code, entry.version))
        if (
            entry.code in agreed
            or Protocol.objects.filter(
                code=entry.code, version=entry.version, origin="pages"
            ).exists()
        ):
            continue
        _sync(
            report,
            "protocol",
            Protocol,
            {"code": entry.code, "version": entry.version},
            {
                "status": entry.status,
                "effective_from": entry.effective_from,
                "effective_until": entry.effective_until,
                "parties": list(entry.parties),
                "labels": dict(entry.label),
                "description": dict(entry.description),
                "rules": [rule.model_dump(mode="json") for rule in entry.rules],
            },
        )
    for protocol in (
        Protocol.objects.exclude(status=Protocol.Status.RETIRED)
        .filter(origin="file")
        .exclude(code__in=agreed)
    ):
        if (protocol.code, protocol.version) not in declared:
            protocol.status = Protocol.Status.RETIRED
            protocol.save(update_fields=["status"])
            report.retired["protocol"] += 1


def _load_agreements(report: LoadReport, spec: ModelSpec) -> None:
    """Federation agreements by code; one the file no longer lists is retired, since its
    messages and handovers still point to it."""
    agreements = spec.federation.agreements if spec.federation else []
    organisations = dict(Organisation.objects.values_list("code", "id"))
    for entry in agreements:
        before = report.created["agreement"] + report.updated["agreement"]
        agreement = _sync(
            report,
            "agreement",
            Agreement,
            {"code": entry.code},
            {
                "version": entry.version,
                "partner": entry.partner,
                "partner_labels": dict(entry.partner_name),
                "address": entry.address,
                "public_key": entry.public_key,
                "valid_from": entry.valid_from,
                "valid_until": entry.valid_until,
                "copies_kept_days": entry.copies_kept_days,
                "closing_reason": entry.closing_reason,
                "terms": {
                    "send": [term.model_dump() for term in entry.send],
                    "receive": [term.model_dump() for term in entry.receive],
                },
                "labels": dict(entry.label),
                "active": True,
            },
        )
        wanted = {organisations[code] for code in entry.organisations}
        if set(agreement.organisations.values_list("id", flat=True)) != wanted:
            agreement.organisations.set(wanted)
            if report.created["agreement"] + report.updated["agreement"] == before:
                report.updated["agreement"] += 1
    _retire(
        report,
        "agreement",
        Agreement.objects.exclude(code__in=[entry.code for entry in agreements]),
    )
