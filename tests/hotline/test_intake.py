"""The live-call intake: one submit saves the contact (and a referral); bad input saves nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from casebridge.audit.models import AuditEvent
from casebridge.hotline.models import Contact, Referral
from tests.builders import org
from tests.hotline.bodies import intake_data

pytestmark = pytest.mark.django_db


def test_intake_page_has_defaults_and_a_timer(personas):
    response = personas.client(personas.hotline).get(reverse("hotline:intake"))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="call-timer"' in body
    form = response.context["form"]
    assert form["channel"].value() == "phone"
    assert form["anonymous"].value() is True
    assert re.search(r'<select name="channel"[^>]*autofocus', body)


def test_saving_an_anonymous_contact(personas):
    client = personas.client(personas.hotline)
    response = client.post(reverse("hotline:intake"), intake_data())
    assert response.status_code == 302, response.context["form"].errors
    contact = Contact.objects.get()
    assert contact.reference.startswith(f"HL-{contact.started_at.year}-")
    assert contact.caller_region.code == "DE-HH"
    assert contact.person_region.code == "DE-HH"
    assert contact.ended_at is not None and contact.duration_minutes >= 12
    assert {t.code for t in contact.concern_topics.all()} == {
        "changed_behaviour",
        "withdrawal_from_family",
    }
    event = AuditEvent.objects.get(action="hotline.contact.create")
    assert event.details == {"reference": contact.reference, "anonymous": True}


def test_saving_with_a_referral_in_one_submit(personas):
    partner = org(personas.partner)
    response = personas.client(personas.hotline).post(
        reverse("hotline:intake"),
        intake_data(
            **{
                "referral-partner": partner.pk,
                "referral-mode": "anonymous",
                "referral-message": "Familie möchte Beratung.",
            }
        ),
    )
    assert response.status_code == 302
    referral = Referral.objects.get()
    assert referral.partner == partner
    assert referral.mode == "anonymous"
    assert [e.kind for e in referral.events.all()] == ["sent"]


def test_intake_save_takes_a_constant_number_of_queries(personas):
    client = personas.client(personas.hotline)
    partner = org(personas.partner)
    client.post(reverse("hotline:intake"), intake_data())  # warm caches (session, model)

    def count(**overrides) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.post(reverse("hotline:intake"), intake_data(**overrides))
        assert response.status_code == 302
        return len(queries)

    one = count(
        concern_topics=["changed_behaviour"],
        **{
            "referral-partner": partner.pk,
            "referral-mode": "anonymous",
            "referral-services": ["family_counselling"],
        },
    )
    many = count(
        concern_topics=[
            "changed_behaviour",
            "withdrawal_from_family",
            "violence_or_threats",
            "extremist_propaganda_online",
            "religious_questions",
        ],
        **{
            "referral-partner": partner.pk,
            "referral-mode": "anonymous",
            "referral-services": ["family_counselling", "exit_work", "online_counselling"],
        },
    )
    assert one == many


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"referral-partner": "PARTNER"},
            "mode",
            "Choose whether the caller consented to pass on contact details or stays anonymous.",
        ),
        ({"follow_up_on": "2020-01-01"}, "follow_up_on", "The follow-up date lies in the past."),
        ({"caller_postcode": "00000"}, "caller_postcode", "Unknown postcode"),
        ({"caller_postcode": "2009"}, "caller_postcode", "is not a well-formed postcode"),
        ({"caller_name": "Erika Muster"}, "anonymous", "An anonymous contact has no name"),
        (
            {"contact_category": "one_off_consultation"},
            "closing_reason",
            "Choose why the consultation was closed.",
        ),
        (
            {
                "referral-partner": "PARTNER",
                "referral-mode": "consent",
                "referral-consent_note": "ok",
            },
            "mode",
            "A referral with consent needs the caller's phone or e-mail",
        ),
        ({"caller_category": "martians"}, "caller_category", "Select a valid choice"),
    ],
)
def test_bad_intake_is_refused_on_the_field_and_saves_nothing(personas, overrides, field, message):
    partner = org(personas.partner)
    overrides = {k: (partner.pk if v == "PARTNER" else v) for k, v in overrides.items()}
    events = AuditEvent.objects.count()
    response = personas.client(personas.hotline).post(
        reverse("hotline:intake"), intake_data(**overrides)
    )
    assert response.status_code == 200
    errors = {**response.context["form"].errors, **response.context["referral_form"].errors}
    assert any(message in text for text in errors.get(field, [])), errors
    assert not Contact.objects.exists()
    assert not Referral.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="hotline.contact.create").exists()
    assert AuditEvent.objects.filter(action__in=["hotline.contact.create"]).count() == 0
    assert AuditEvent.objects.count() >= events


def test_consent_referral_with_identity(personas):
    partner = org(personas.partner)
    response = personas.client(personas.hotline).post(
        reverse("hotline:intake"),
        intake_data(
            anonymous=None,
            caller_name="Erika Muster",
            caller_phone="+49 40 000000",
            **{
                "referral-partner": partner.pk,
                "referral-mode": "consent",
                "referral-consent_note": "mündlich zugestimmt",
            },
        ),
    )
    assert response.status_code == 302
    assert Referral.objects.get().mode == "consent"


def test_suggestions_appear_for_a_postcode(personas):
    response = personas.client(personas.hotline).post(
        reverse("hotline:suggest"), {"caller_postcode": "20095", "language": "de"}
    )
    body = response.content.decode()
    assert 'name="referral-partner"' in body
    assert "Hamburg" in body


def test_suggestions_explain_a_bad_postcode(personas):
    response = personas.client(personas.hotline).post(
        reverse("hotline:suggest"), {"caller_postcode": "00000"}
    )
    assert "Unknown postcode" in response.content.decode()


def test_only_hotline_counsellors_take_calls(personas):
    for persona in (
        personas.partner,
        personas.police,
        personas.dpo,
        personas.admin,
        personas.outsider,
        personas.prison_expired,
    ):
        client = personas.client(persona)
        assert client.get(reverse("hotline:intake")).status_code == 403
        assert client.post(reverse("hotline:intake"), intake_data()).status_code == 403
    assert not Contact.objects.exists()


def test_search_by_reference_uses_post(personas, make_contact):
    contact = make_contact()
    client = personas.client(personas.hotline)
    response = client.post(reverse("hotline:contacts"), {"q": contact.reference})
    assert [c.pk for c in response.context["results"]] == [contact.pk]


def test_follow_ups_are_listed_and_can_be_done(personas, make_contact):
    contact = make_contact(follow_up_on=timezone.localdate())
    client = personas.client(personas.hotline)
    page = client.get(reverse("hotline:intake"))
    assert contact in page.context["follow_ups"].items
    client.post(reverse("hotline:follow_up_done", args=[contact.pk]))
    contact.refresh_from_db()
    assert contact.follow_up_done_at is not None


def test_repeat_caller_is_linked_to_earlier_contacts(personas, make_contact):
    first = make_contact()
    second = make_contact(earlier_contact=first)
    response = personas.client(personas.hotline).get(reverse("hotline:contact", args=[second.pk]))
    assert [c.pk for c in response.context["earlier"]] == [first.pk]


def test_contact_edit_changes_and_audits(personas, make_contact):
    contact = make_contact()
    client = personas.client(personas.hotline)
    form = client.get(reverse("hotline:contact_edit", args=[contact.pk])).context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(
        summary="Neue Zusammenfassung",
        concern_topics=["changed_behaviour"],
        language="de",
        caller_category="parents_relatives",
        contact_category="clarification_needed",
    )
    data = {k: v for k, v in data.items() if v not in ("", False)}
    response = client.post(reverse("hotline:contact_edit", args=[contact.pk]), data)
    assert response.status_code == 302, response.context["form"].errors
    contact.refresh_from_db()
    assert contact.summary == "Neue Zusammenfassung"
    event = AuditEvent.objects.filter(action="hotline.contact.update").latest("id")
    assert "summary" in event.details["fields"]
    assert "Neue" not in str(event.details)


def test_overview_reminds_of_due_follow_ups_and_new_referrals(personas, make_contact):
    make_contact(follow_up_on=timezone.localdate())
    make_contact(referral_to=org(personas.partner))
    hotline = personas.client(personas.hotline).get(reverse("home"))
    assert hotline.context["reminders"]["follow_ups_today"] == 1
    assert "1 follow-up due today" in hotline.content.decode()
    partner = personas.client(personas.partner).get(reverse("home"))
    assert partner.context["reminders"]["new_referrals"] == 1
    assert "1 new referral" in partner.content.decode()
    police = personas.client(personas.police).get(reverse("home"))
    assert police.context["reminders"] == {
        "follow_ups_today": 0,
        "follow_ups_overdue": 0,
        "new_referrals": 0,
        "to_reroute": 0,
    }


def test_a_caller_without_postcode_can_name_the_state(personas):
    from casebridge.network.models import Region

    bavaria = Region.objects.get(code="DE-BY")
    client = personas.client(personas.hotline)
    suggestions = client.post(reverse("hotline:suggest"), {"caller_region": bavaria.pk})
    assert "Bayern" in suggestions.content.decode() or "Bavaria" in suggestions.content.decode()
    assert 'name="referral-partner"' in suggestions.content.decode()
    response = client.post(
        reverse("hotline:intake"), intake_data(caller_postcode="", caller_region=bavaria.pk)
    )
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert contact.caller_region == bavaria
    assert contact.person_region == bavaria


def test_repeat_caller_is_linked_by_reference_at_intake(personas, make_contact):
    first = make_contact()
    client = personas.client(personas.hotline)
    response = client.post(
        reverse("hotline:intake"), intake_data(earlier_reference=first.reference)
    )
    assert response.status_code == 302
    assert Contact.objects.exclude(pk=first.pk).get().earlier_contact == first
    unknown = client.post(reverse("hotline:intake"), intake_data(earlier_reference="HL-1999-99999"))
    assert unknown.context["form"].errors["earlier_reference"] == ["Unknown earlier contact."]
    assert Contact.objects.count() == 2


def test_timer_keeps_running_when_the_form_comes_back_with_an_error(personas):
    response = personas.client(personas.hotline).post(
        reverse("hotline:intake"), intake_data(follow_up_on="2020-01-01")
    )
    assert 11 * 60 <= response.context["elapsed_seconds"] <= 14 * 60
    assert f'data-elapsed="{response.context["elapsed_seconds"]}"' in response.content.decode()


def test_side_panels_show_ten_and_count_the_rest(personas, make_contact):
    """Today's contacts and the follow-ups: the first ten, then "and N more" (issue 16: the
    page no longer loads every row to show ten)."""
    now = timezone.now()
    for _ in range(12):
        make_contact(
            follow_up_on=timezone.localdate(),
            started_at=now - timedelta(seconds=1),
            ended_at=now,
        )
    page = personas.client(personas.hotline).get(reverse("hotline:intake"))
    assert len(page.context["follow_ups"].items) == 10
    assert page.context["follow_ups"].more == 2
    assert len(page.context["today"].items) == 10
    assert page.context["today"].more == 2
    assert page.content.decode().count("and 2 more") == 2
    assert page.context["to_reroute"].items == [] and page.context["to_reroute"].more == 0


def test_a_side_panel_counts_the_rest_up_to_its_limit(personas):
    from casebridge.hotline.selectors import COUNTED, shortlist
    from casebridge.network.models import PostcodeArea

    areas = PostcodeArea.objects.order_by("postcode")
    assert areas.count() > COUNTED + 1
    assert shortlist(personas.hotline, areas, "test", 10).more == COUNTED - 10
    assert shortlist(personas.hotline, areas[: COUNTED + 1], "test", 10).more == COUNTED - 10
    assert shortlist(personas.hotline, areas[:COUNTED], "test", 10).more == COUNTED - 10
    assert shortlist(personas.hotline, areas[:15], "test", 10).more == 5
    assert shortlist(personas.hotline, areas[:10], "test", 10).more == 0


def test_the_callers_earlier_contacts_appear_beside_the_intake(personas, make_contact):
    """Issue 18: a repeat caller who gives their name: their earlier contacts beside the form
    (by the name's keyed digest; the name travels in the body, never the address; the
    lookup is audited without it). Anonymous callers are never looked up."""
    import json

    from casebridge.audit.models import AuditEvent

    earlier = make_contact(anonymous=False, caller_name="Erika Beispiel")
    make_contact(anonymous=False, caller_name="Jemand Anderes")
    client = personas.client(personas.hotline)
    page = client.get(reverse("hotline:intake")).content.decode()
    assert 'id="earlier"' in page and 'hx-post="/hotline/earlier/"' in page
    found = client.post(reverse("hotline:earlier"), {"caller_name": "erika  beispiel"})
    assert found.status_code == 200
    text = found.content.decode()
    assert earlier.reference in text and text.count("data-earlier=") == 1
    event = AuditEvent.objects.filter(action="hotline.contact.lookup").latest("id")
    assert event.details == {"found": 1} and "Erika" not in json.dumps(event.details)
    anonymous = client.post(
        reverse("hotline:earlier"), {"caller_name": "Erika Beispiel", "anonymous": "on"}
    )
    assert earlier.reference not in anonymous.content.decode()
    # only the hotline looks up callers
    partner = personas.client(personas.partner)
    assert (
        partner.post(reverse("hotline:earlier"), {"caller_name": "Erika Beispiel"}).status_code
        == 403
    )
