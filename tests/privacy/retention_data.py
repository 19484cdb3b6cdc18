"""Records around each retention limit: the builders the retention tests share."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from casebridge.cases import services as case_services
from casebridge.cases.models import (
    Case,
    ConferenceItem,
    Entry,
    Goal,
    RelatedPerson,
    private_storage,
)
from casebridge.cooperation_models.models import Term
from casebridge.hotline import services as hotline_services
from casebridge.hotline.models import Contact, Referral, ReferralEvent
from casebridge.sharing.models import Consent, Disclosure
from tests.builders import org

NOW = timezone.now().replace(microsecond=0)
DAY = timedelta(days=1)


def counts(results) -> dict[tuple[str, str], int]:
    return {(r.rule, r.record_type): r.count for r in results}


def age_contact(contact: Contact, started_at) -> None:
    Contact.objects.filter(pk=contact.pk).update(started_at=started_at, ended_at=started_at)


def declined_referral(make_contact, personas, at):
    contact = make_contact(
        referral_to=org(personas.partner),
        mode="consent",
        anonymous=False,
        caller_name="Erika Muster",
        caller_phone="040 000001",
    )
    referral = contact.referrals.get()
    hotline_services.referral_decline(
        actor=personas.partner, referral=referral, reason="Keine Kapazität"
    )
    ReferralEvent.objects.filter(referral=referral).update(at=at)
    age_contact(contact, at - DAY)
    return contact, referral


def close_case(world, personas, closed_at):
    case_services.case_close(
        actor=personas.partner,
        case=world.case,
        closing_reason=Term.objects.of("case_closing_reason").first(),
    )
    Case.objects.filter(pk=world.case.pk).update(closed_at=closed_at)


def with_related_person_and_document(world, personas):
    case_services.related_person_add(
        actor=personas.partner,
        case=world.case,
        relation=Term.objects.of("caller_relation").first(),
        name="Maria Beispiel",
        phone="040 000002",
    )
    stored = private_storage().save("entries/test/bericht.pdf", ContentFile(b"%PDF secret"))
    Entry.objects.filter(pk=world.counselling.pk).update(
        document=stored, document_name="bericht.pdf"
    )
    return stored


def consent_ended(world, personas, **values):
    consent = Consent.objects.create(
        case=world.case,
        given_by="person",
        purpose="Austausch mit der Schule",
        recorded_by=personas.partner,
        **values,
    )
    return consent


def snapshot():
    tables = [Contact, Referral, ReferralEvent, Case, Entry, RelatedPerson, ConferenceItem]
    tables += [Goal, Consent, Disclosure]
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in tables}
