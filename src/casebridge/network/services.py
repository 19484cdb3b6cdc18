"""Writes for the network directory; each audited in its transaction."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from casebridge.audit.services import audit_record
from casebridge.changes import assign_changes
from casebridge.network.models import ContactPoint, Organisation
from casebridge.network.selectors import PostcodeError, region_for_postcode

ORGANISATION_FIELDS = (
    "name",
    "short_name",
    "type",
    "governance",
    "description",
    "street",
    "postcode",
    "city",
    "phone",
    "email",
    "website",
    "active",
)


def _locate(organisation: Organisation) -> None:
    """Derive region and coordinates from the postcode; name the field when it fails."""
    try:
        place = region_for_postcode(organisation.postcode)
    except PostcodeError as exc:
        raise ValidationError({"postcode": str(exc)}) from None
    organisation.region = place.region
    if place.latitude is not None:
        organisation.latitude, organisation.longitude = place.latitude, place.longitude


def _unique_code(name: str) -> str:
    base = slugify(name)[:56] or "organisation"
    code, number = base, 1
    while Organisation.objects.filter(code=code).exists():
        number += 1
        code = f"{base}-{number}"
    return code


@transaction.atomic
def organisation_create(*, actor, **fields) -> Organisation:
    """Add an organisation to the network (one not declared in the model file)."""
    values = {name: fields[name] for name in ORGANISATION_FIELDS if name in fields}
    organisation = Organisation(**values)
    _locate(organisation)
    organisation.code = _unique_code(organisation.name)
    organisation.full_clean()
    organisation.save()
    audit_record(actor=actor, action="network.organisation.create", obj=organisation)
    return organisation


@transaction.atomic
def organisation_update(*, actor, organisation: Organisation, **fields) -> Organisation:
    """Change an organisation's details; only the given fields, only if they differ."""
    changed = assign_changes(organisation, fields, allowed=ORGANISATION_FIELDS)
    if not changed:
        return organisation
    if "postcode" in changed:
        _locate(organisation)
        changed += ["region", "latitude", "longitude"]
    organisation.full_clean()
    organisation.save(update_fields=changed)
    audit_record(
        actor=actor,
        action="network.organisation.update",
        obj=organisation,
        details={"fields": sorted(set(changed))},
    )
    return organisation


@transaction.atomic
def contact_point_create(
    *, actor, organisation: Organisation, function: str, person=None, name="", phone="", email=""
) -> ContactPoint:
    """Name the contact person an organisation offers for this work."""
    if person is None and not name.strip():
        raise ValidationError({"person": _("Choose a person or enter a name.")})
    if (
        person is not None
        and not person.memberships.active().filter(organisation=organisation).exists()
    ):
        raise ValidationError({"person": _("This person does not work for the organisation.")})
    point = ContactPoint(
        organisation=organisation,
        function=function.strip(),
        person=person,
        name="" if person else name.strip(),
        phone=phone.strip(),
        email=email.strip(),
    )
    point.full_clean()
    point.save()
    audit_record(
        actor=actor,
        action="network.contact_point.create",
        obj=point,
        details={"organisation": organisation.pk},
    )
    return point


@transaction.atomic
def contact_point_end(*, actor, point: ContactPoint) -> ContactPoint:
    """End a contact point today (the person left or the function moved)."""
    if point.until is not None:
        raise ValidationError({"until": _("This contact point has already ended.")})
    point.until = timezone.localdate()
    point.save(update_fields=["until"])
    audit_record(actor=actor, action="network.contact_point.end", obj=point)
    return point
