"""A barrier a procedure adds after the agreement was loaded holds for the federation too:
the agreement's term is read against the model as it is now."""

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from casebridge.federation import services
from casebridge.federation.models import CrossHandover
from casebridge.sharing.models import Protocol
from tests.federation.partner import new_thread, request_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def barrier(partner):
    """An active procedure now says: case coordination must not be shared with NGOs."""
    procedure = Protocol.objects.filter(status=Protocol.Status.ACTIVE).first()
    procedure.rules = [
        *procedure.rules,
        {
            "code": "no-coordination-to-ngos",
            "event": "case_opened",
            "obligation": "must_not_share",
            "recipient": {"sector": "counselling_ngo"},
            "categories": ["case_coordination"],
            "legal_basis": "consent_gdpr",
            "label": {"en": "x", "de": "x"},
        },
    ]
    procedure.save(update_fields=["rules"])


def test_a_proposal_cannot_name_what_an_active_procedure_keeps(barrier, partner, personas, world):
    with pytest.raises(ValidationError) as error:
        services.handover_propose(
            actor=personas.partner,
            agreement=partner.agreement,
            case=world.case,
            postcode="3011 AB",
            reason="The family moved.",
            categories=["case_coordination"],
            consent_note="Agreed.",
        )
    assert "categories" in error.value.message_dict
    assert not CrossHandover.objects.exists()


def test_a_request_announcing_what_an_active_procedure_keeps_is_refused(barrier, partner):
    request = partner.message(
        "handover_request", request_body(categories=["case_coordination"]), thread=new_thread()
    )
    status, answer = partner.send(Client(), request)
    assert (status, answer["body"]["code"]) == (422, "not_accepted")
    assert not CrossHandover.objects.exists()
