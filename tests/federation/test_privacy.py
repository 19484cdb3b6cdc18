"""A person's data that crossed to a partner installation: shown by Art. 15, emptied by
Art. 17, and the copies of the messages emptied after the agreement's period."""

from datetime import timedelta

import pytest
from django.utils import timezone

from casebridge.federation import services
from casebridge.federation.models import CrossHandover, Message
from casebridge.privacy.models import SubjectRequest

pytestmark = pytest.mark.django_db

REASON = "Ali zieht zu seiner Tante nach Rotterdam."
CONSENT = "Ali stimmte am 3. Mai schriftlich zu."


def _create(client, kind="access", article="art15"):
    response = client.post(
        "/privacy/requests/", {"kind": kind, "article": article, "requester_note": "Brief"}
    )
    assert response.status_code == 302
    return SubjectRequest.objects.latest("pk")


@pytest.fixture
def handed_over(partner, personas, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.handover_propose(
            actor=personas.partner,
            agreement=partner.agreement,
            case=world.case,
            postcode="3011 AB",
            reason=REASON,
            categories=["identity"],
            consent_note=CONSENT,
        )


def test_access_shows_and_erasure_empties_a_cross_installation_handover(
    handed_over, world, personas
):
    client = personas.client(personas.dpo)
    access = _create(client)
    client.post(f"/privacy/requests/{access.pk}/attach/", {"subjects": [f"cases:{world.case.pk}"]})
    client.post(f"/privacy/requests/{access.pk}/prepare/")
    page = client.get(f"/privacy/requests/{access.pk}/export/").content.decode()
    assert REASON in page and CONSENT in page
    assert Message.objects.get().hash in page

    erase = _create(client, kind="erasure", article="art17")
    base = f"/privacy/requests/{erase.pk}"
    client.post(f"{base}/attach/", {"subjects": [f"cases:{world.case.pk}"]})
    client.post(f"{base}/prepare/")
    client.post(f"{base}/review/")
    assert client.post(f"{base}/erase/").status_code == 302
    handover = CrossHandover.objects.get()
    assert (handover.reason, handover.consent_note) == ("", "")
    assert handover.status == "requested" and handover.categories == ["identity"]
    message = Message.objects.get()
    assert (message.envelope, message.answer) == ("", "")
    assert message.hash  # the record of the flow stays


def test_message_copies_are_emptied_after_the_agreements_period(handed_over, partner):
    message = Message.objects.get()
    assert message.envelope
    assert services.scrub_expired() == 0
    later = timezone.now() + timedelta(days=partner.agreement.copies_kept_days + 1)
    assert services.scrub_expired(now=later) == 1
    message.refresh_from_db()
    assert (message.envelope, message.answer, message.scrubbed_at) == ("", "", later)
    assert message.hash and message.answer_hash
