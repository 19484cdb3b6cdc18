"""What each kind of record loses when it is anonymised, shared by retention and erasure.

Anonymising empties identity fields (and their blind indexes), free text and documents;
it keeps the statistical fields (dates, categories, phase, closing reason, region,
relation, counts) and every row, so statistics and foreign keys do not change. The
audit chain holds no content and is not touched.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from casebridge.cases.models import (
    Case,
    Conference,
    ConferenceItem,
    Entry,
    Goal,
    Handover,
    RelatedPerson,
    SafetyWarning,
    Transfer,
)
from casebridge.crypto.files import private_storage
from casebridge.federation.models import CrossHandover, Message
from casebridge.hotline.models import Contact, Referral, ReferralEvent
from casebridge.outcomes.models import FollowUpConsent
from casebridge.sharing.models import Consent, ContactDisclosure, Disclosure, InformationRequest


def _blank(*names: str) -> dict[str, str]:
    return dict.fromkeys(names, "")


def _has_any(*names: str) -> Q:
    q = Q()
    for name in names:
        q |= ~Q(**{name: ""})
    return q


# field name -> value after anonymisation, per record type
CONTACT_TEXT = _blank("summary", "advice", "next_steps")
CONTACT_IDENTITY = _blank(
    "caller_name", "caller_phone", "caller_email", "caller_index", "caller_postcode"
)
REFERRAL_TEXT = _blank("message", "consent_note", "decline_reason")
CASE_IDENTITY = _blank(
    "pseudonym", "first_name", "last_name", "date_of_birth", "address", "identity_index"
)
RELATED_PERSON = _blank("name", "phone", "note", "name_index")
ENTRY_TEXT = _blank("title", "text")
DOCUMENT = _blank("document", "document_name")
CONSENT_TEXT = _blank("purpose")
DISCLOSURE_TEXT = _blank("excerpt", "justification", "purpose")
REQUEST_TEXT = _blank("question", "refusal", "purpose")
WARNING_TEXT = _blank("note", "reason")
CONTACT_DISCLOSURE_TEXT = _blank("excerpt", "identity", "purpose", "justification", "note")
TRANSFER_TEXT = _blank("reason", "consent_note", "justification", "decline_reason")
# a handover to or from a partner installation, and the copies of its messages
CROSS_HANDOVER_TEXT = _blank("reason", "consent_note", "justification", "decline_reason")

CONTACT_TEXT_LEFT = _has_any(*CONTACT_TEXT)
CONTACT_CONTENT_LEFT = _has_any(*CONTACT_TEXT, *CONTACT_IDENTITY)
REFERRAL_TEXT_LEFT = _has_any(*REFERRAL_TEXT)
ENTRY_TEXT_LEFT = _has_any(*ENTRY_TEXT)
CONSENT_TEXT_LEFT = _has_any(*CONSENT_TEXT)
DISCLOSURE_TEXT_LEFT = _has_any(*DISCLOSURE_TEXT)
REQUEST_TEXT_LEFT = _has_any(*REQUEST_TEXT)
CONTACT_DISCLOSURE_TEXT_LEFT = _has_any(*CONTACT_DISCLOSURE_TEXT)
RELATED_PERSON_LEFT = _has_any(*RELATED_PERSON)


def contacts_clear(contacts: QuerySet[Contact], *, identity: bool, now) -> int:
    """Empty the free text (and, with ``identity``, the caller's identity) of contacts."""
    values = {**CONTACT_TEXT, **(CONTACT_IDENTITY if identity else {})}
    return contacts.update(**values, anonymised_at=now)


def referrals_clear(referrals: QuerySet[Referral]) -> int:
    """Empty the messages of referrals and the notes of their history."""
    ReferralEvent.objects.filter(referral__in=referrals.values("pk")).exclude(note="").update(
        note=""
    )
    return referrals.update(**REFERRAL_TEXT)


def documents_delete(entries: QuerySet[Entry]) -> int:
    """Delete the stored files of entries and forget them; return how many were deleted."""
    count = 0
    for name in entries.exclude(document="").values_list("document", flat=True):
        private_storage().delete(name)
        count += 1
    entries.exclude(document="").update(**DOCUMENT)
    return count


def case_items_clear(case_ids, *, category_ids=None) -> dict[str, int]:
    """Empty the free text of the cases' entries, conference items (and goals for the
    coordination category), in the given categories or all of them."""
    entries = Entry.objects.filter(case_id__in=case_ids).filter(ENTRY_TEXT_LEFT)
    items = ConferenceItem.objects.filter(conference__case_id__in=case_ids).exclude(text="")
    goals = Goal.objects.filter(case_id__in=case_ids).exclude(title="")
    if category_ids is not None:
        entries = entries.filter(category_id__in=category_ids)
        items = items.filter(category_id__in=category_ids)
    return {
        "entry": entries.update(**ENTRY_TEXT),
        "conference item": items.update(text=""),
        "goal": goals.update(title="") if category_ids is None else 0,
    }


def cases_anonymise(cases: QuerySet[Case], *, now) -> dict[str, int]:
    """Erase the person's identity, the related people and the documents of cases.

    Handover notes, conference titles, the notes and reasons of staff-safety warnings and
    the reasons and grounds of transfers go too; entries keep their text until their
    category's period (``case_items_clear``).
    """
    case_ids = list(cases.values_list("pk", flat=True))
    counts = {
        "related person": RelatedPerson.objects.filter(case_id__in=case_ids)
        .filter(RELATED_PERSON_LEFT)
        .update(**RELATED_PERSON),
        "document": documents_delete(Entry.objects.filter(case_id__in=case_ids)),
    }
    Handover.objects.filter(participant__case_id__in=case_ids).exclude(note="").update(note="")
    counts["staff-safety warning"] = (
        SafetyWarning.objects.filter(case_id__in=case_ids)
        .filter(_has_any(*WARNING_TEXT))
        .update(**WARNING_TEXT)
    )
    counts["transfer"] = (
        Transfer.objects.filter(case_id__in=case_ids)
        .filter(_has_any(*TRANSFER_TEXT))
        .update(**TRANSFER_TEXT)
    )
    counts["handover to or from a partner installation"] = (
        CrossHandover.objects.filter(case_id__in=case_ids)
        .filter(_has_any(*CROSS_HANDOVER_TEXT))
        .update(**CROSS_HANDOVER_TEXT)
    )
    counts["message copy"] = (
        Message.objects.filter(case_id__in=case_ids)
        .filter(scrubbed_at__isnull=True)
        .exclude(envelope="", answer="")
        .update(envelope="", answer="", scrubbed_at=now)
    )
    Conference.objects.filter(case_id__in=case_ids).exclude(title="").update(title="")
    # how the person was asked about follow-ups (their answer stays, as a statistic does)
    FollowUpConsent.objects.filter(case_id__in=case_ids).exclude(note="").update(note="")
    counts["case"] = Case.objects.filter(pk__in=case_ids).update(**CASE_IDENTITY, anonymised_at=now)
    return counts


def consents_clear(consents: QuerySet[Consent]) -> int:
    return consents.update(**CONSENT_TEXT)


def disclosures_clear(disclosures: QuerySet[Disclosure]) -> int:
    return disclosures.update(**DISCLOSURE_TEXT)


def requests_clear(requests: QuerySet[InformationRequest]) -> int:
    """Empty the question, purpose and refusal of requests for information (the other half
    of the disclosure flow: they follow the disclosures' period)."""
    return requests.update(**REQUEST_TEXT)


def contact_disclosures_clear(disclosures: QuerySet[ContactDisclosure]) -> int:
    """Empty what the hotline passed on (excerpt, identifying details, purpose, weighing,
    notes); who sent what kind to whom, on which basis and when stays as the record."""
    return disclosures.update(**CONTACT_DISCLOSURE_TEXT)
