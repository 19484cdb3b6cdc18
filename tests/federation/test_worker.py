"""The worker delivers what waits in the outbox, so that a handover message that found the
partner down arrives without anyone running ``casebridge federation deliver``."""

import pytest
from django.core.management import call_command

from casebridge.federation import services
from casebridge.federation.models import Message

pytestmark = pytest.mark.django_db


def test_a_worker_round_delivers_the_outbox(
    partner, personas, world, django_capture_on_commit_callbacks, signing_key
):
    partner.reachable = False
    with django_capture_on_commit_callbacks(execute=True):
        services.handover_propose(
            actor=personas.partner,
            agreement=partner.agreement,
            case=world.case,
            postcode="3011 AB",
            reason="The family moved to Rotterdam.",
            categories=["identity"],
            consent_note="Agreed on 3 December in the office.",
        )
    assert Message.objects.get().status == "pending"
    partner.reachable = True
    Message.objects.update(next_attempt_at=None)
    call_command("worker", "--once")
    assert Message.objects.get().status == "delivered"
    assert [m["type"] for m in partner.received] == ["handover_request"]
