"""The data the fuzzer runs against: a case and a hotline contact carrying marker texts
that only some personas may ever see."""

import pytest

from tests.builders import entry

# marker text → the personas allowed to receive it in any response
MARKERS = {
    "Quxbaumer": {"partner"},  # the person's surname in the case (identity category)
    "Vertraulich-QX-7731": {"partner"},  # a counselling entry
    "Anruferqux": {"hotline", "coordinator"},  # the caller's name on a hotline contact
}


@pytest.fixture
def marked(personas, world, make_contact):
    from casebridge.cases import services

    services.case_update(
        actor=personas.partner, case=world.case, identity={"last_name": "Quxbaumer"}
    )
    entry(personas.partner, world.case, "counselling", "Sitzung", "Vertraulich-QX-7731")
    make_contact(caller_name="Anruferqux Muster", anonymous=False)
    return MARKERS
