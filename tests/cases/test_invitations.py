"""Outside professionals invited to one case (issue 17, flow 4): the lead invites a named
professional of an organisation for a bounded time; the link works once and for seven days;
it leads to a password, then a second factor; the guest sees that case only, with the
scope of their organisation's role, until the end — or until the lead ends it."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from casebridge.access.policy import Action, decide
from casebridge.accounts.models import Membership, Role, User
from casebridge.accounts.two_factor import two_factor_state
from casebridge.audit.models import AuditEvent
from casebridge.cases import services
from casebridge.cases.models import Invitation, Participant
from casebridge.network.models import Organisation
from tests.builders import entry, make_user, org, role, whole_case_page

pytestmark = pytest.mark.django_db

NAME = "Dr. Hanna Lindner"
EMAIL = "h.lindner@lindenhof.example.org"
PASSWORD = "ein-langes-Passwort-2026"
HEALTH_NOTE = "Behandlung seit März, Medikation angepasst."


def therapy() -> Organisation:
    return Organisation.objects.get(code="psychotherapie-lindenhof-bremen")


def invite(
    personas, world, django_capture_on_commit_callbacks, **changes
) -> tuple[Invitation, str]:
    values = {
        "actor": personas.partner,
        "case": world.case,
        "organisation": therapy(),
        "role": role("health_care"),
        "name": NAME,
        "email": EMAIL,
        "until": timezone.localdate() + timedelta(days=60),
        "link": "https://casebridge.example.org/cases/invitation/",
    }
    values.update(changes)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(**values)
    (message,) = mail.outbox
    token = re.search(r"/cases/invitation/([A-Za-z0-9_-]+)/", message.body).group(1)
    return invitation, token


def accept(client, token, username="lindner", password=PASSWORD):
    return client.post(
        reverse("cases:invitation_accept", args=[token]),
        {"username": username, "password": password, "password_again": password},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_invite_accept_and_see_this_case_only_with_the_role_scope(
    personas, world, client, django_capture_on_commit_callbacks
):
    invitation, token = invite(personas, world, django_capture_on_commit_callbacks)
    assert mail.outbox[0].to == [EMAIL] and world.case.number in mail.outbox[0].subject
    assert "Vertrauliche" not in mail.outbox[0].body  # no content in the mail
    assert invitation.token_digest != token and token not in json.dumps(
        list(Invitation.objects.values("token_digest", "name", "email"))
    )
    event = AuditEvent.objects.get(action="cases.invitation.create")
    assert NAME not in json.dumps(event.details) and EMAIL not in json.dumps(event.details)

    page = client.get(reverse("cases:invitation_accept", args=[token]), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and world.case.number in page.content.decode()
    response = accept(client, token)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    guest = User.objects.get(username="lindner")
    assert guest.email == EMAIL and guest.check_password(PASSWORD)
    membership = Membership.objects.get(user=guest)
    assert membership.role == Role.GUEST and membership.organisation == therapy()
    assert two_factor_state(guest)[0]  # a second factor is required before anything else
    participant = Participant.objects.get(case=world.case, organisation=therapy())
    assert participant.role.code == "health_care" and list(participant.members.all()) == [guest]
    assert {t.code for t in participant.read_categories.all()} == {"case_coordination", "health"}

    # the link works once
    again = accept(client, token, username="other")
    assert again.status_code == 410 and "used already" in again.content.decode()
    assert User.objects.filter(username="other").count() == 0

    # the guest sees this case, and in it the coordination and health only
    entry(guest, world.case, "health", "Behandlung", HEALTH_NOTE)
    guest_client = personas.client(guest)
    cases = guest_client.get("/api/v1/cases").json()
    assert [c["id"] for c in cases] == [world.case.pk]
    page = whole_case_page(guest_client, world.case.pk)
    assert "Termin im Mai." in page and HEALTH_NOTE in page
    for secret in ("Vertrauliche Beratung", "Keine polizeilichen", "Begründung der Fachkraft"):
        assert secret not in page
    assert not decide(guest, Action.VIEW, world.counselling)
    # and nothing of the network: referrals, meetings, lessons, training, statistics
    for url in ("/hotline/referrals/", "/network/lessons/", "/network/meetings/", "/stats/"):
        assert guest_client.get(url).status_code in (403, 404), url
    other = services.case_open(actor=personas.partner, owner=org(personas.partner), pseudonym="B")
    assert guest_client.get(reverse("cases:case", args=[other.pk])).status_code == 404


def test_the_police_never_read_the_health_data_the_guest_writes(
    personas, world, client, django_capture_on_commit_callbacks
):
    _invitation, token = invite(personas, world, django_capture_on_commit_callbacks)
    accept(client, token)
    guest = User.objects.get(username="lindner")
    entry(guest, world.case, "health", "Befund", HEALTH_NOTE)
    assert HEALTH_NOTE not in whole_case_page(personas.client(personas.police), world.case.pk)
    assert HEALTH_NOTE in whole_case_page(personas.client(personas.partner), world.case.pk)


def test_an_expired_or_withdrawn_link_says_so_and_changes_nothing(
    personas, world, client, django_capture_on_commit_callbacks, settings
):
    invitation, token = invite(personas, world, django_capture_on_commit_callbacks)
    Invitation.objects.filter(pk=invitation.pk).update(
        link_expires_at=timezone.now() - timedelta(minutes=1)
    )
    response = accept(client, token)
    assert response.status_code == 410 and "has expired" in response.content.decode()
    assert not User.objects.filter(username="lindner").exists()
    assert not Participant.objects.filter(organisation=therapy()).exists()
    second, token = invite(personas, world, django_capture_on_commit_callbacks)
    services.invitation_end(actor=personas.partner, invitation=second)
    assert accept(client, token).status_code == 410
    assert client.get(reverse("cases:invitation_accept", args=["x" * 43])).status_code == 410
    german = client.get(reverse("cases:invitation_accept", args=[token]), HTTP_ACCEPT_LANGUAGE="de")
    assert "abgelaufen" in german.content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        # days from today, reckoned when the test runs (a run may pass midnight)
        ({"until": 0}, "until", "must lie in the future"),
        ({"until": 181}, "until", "at most 180 days"),
        ({"role": None}, "role", "Choose the organisation's role"),
        ({"role": "lead_counselling"}, "role", "never leads"),
        ({"role": "police_liaison"}, "role", "not for an organisation of this kind"),
        ({"email": "keine-adresse"}, "email", "valid e-mail"),
        ({"name": " "}, "name", "Give the professional's name"),
        ({"organisation": None}, "organisation", "active organisation"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(personas, world, changes, field, message):
    if isinstance(changes.get("until"), int):
        changes["until"] = timezone.localdate() + timedelta(days=changes["until"])
    if isinstance(changes.get("role"), str):
        changes["role"] = role(changes["role"])
    values = {
        "actor": personas.partner,
        "case": world.case,
        "organisation": therapy(),
        "role": role("health_care"),
        "name": NAME,
        "email": EMAIL,
        "until": timezone.localdate() + timedelta(days=60),
        "link": "https://x/",
        **changes,
    }
    with pytest.raises(services.ValidationError) as error:
        services.invitation_create(**values)
    assert message in " ".join(error.value.message_dict[field])
    assert not Invitation.objects.exists()


def test_the_limit_itself_is_taken(personas, world, django_capture_on_commit_callbacks):
    invitation, _token = invite(
        personas,
        world,
        django_capture_on_commit_callbacks,
        until=timezone.localdate() + timedelta(days=180),
    )
    assert invitation.status == "sent"


def test_bad_passwords_and_usernames_are_refused_with_the_field(
    personas, world, client, django_capture_on_commit_callbacks
):
    _invitation, token = invite(personas, world, django_capture_on_commit_callbacks)
    short = accept(client, token, password="kurz")
    assert short.status_code == 422 and "too short" in short.content.decode()
    make_user("taken", None, None)
    taken = accept(client, token, username="taken")
    assert taken.status_code == 422 and "already exists" in taken.content.decode()
    differ = client.post(
        reverse("cases:invitation_accept", args=[token]),
        {"username": "lindner", "password": PASSWORD, "password_again": PASSWORD + "x"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert differ.status_code == 422 and "differ" in differ.content.decode()
    assert not User.objects.filter(username="lindner").exists()
    assert accept(client, token).status_code == 302  # the link still works once


def test_only_the_lead_invites_on_every_path(personas, world, django_capture_on_commit_callbacks):
    body = {
        "organisation_id": therapy().pk,
        "role": "health_care",
        "name": NAME,
        "email": EMAIL,
        "until": (timezone.localdate() + timedelta(days=30)).isoformat(),
    }
    url = f"/api/v1/cases/{world.case.pk}/invitations"
    for user, expected in (
        (personas.police, 403),
        (personas.partner_other, 404),
        (personas.hotline, 404),
        (personas.coordinator, 404),
        (personas.outsider, 404),
    ):
        response = personas.client(user).post(url, body, content_type="application/json")
        assert response.status_code == expected, (user.username, response.content[:200])
        page = personas.client(user).post(
            reverse("cases:invitation_add", args=[world.case.pk]),
            {
                f"invitation-{k}": v
                for k, v in {
                    **body,
                    "organisation": therapy().pk,
                    "role": role("health_care").pk,
                }.items()
            },
        )
        assert page.status_code in (403, 404), user.username
    assert not Invitation.objects.exists()
    # the lead invites on the page too
    with django_capture_on_commit_callbacks(execute=True):
        page = personas.client(personas.partner).post(
            reverse("cases:invitation_add", args=[world.case.pk]),
            {
                "invitation-organisation": therapy().pk,
                "invitation-role": role("health_care").pk,
                "invitation-name": NAME,
                "invitation-email": EMAIL,
                "invitation-until": body["until"],
            },
        )
    assert page.status_code == 302 and page["Location"].endswith("?section=people")
    people = personas.client(personas.partner).get(page["Location"]).content.decode()
    assert NAME in people and "Withdraw" in people
    Invitation.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = personas.client(personas.partner).post(
            url, body, content_type="application/json"
        )
    assert response.status_code == 201, response.content[:300]
    assert response.json()["status"] == "sent" and "token" not in response.content.decode()
    listed = personas.client(personas.partner).get(url).json()
    assert [row["email"] for row in listed] == [EMAIL]
    assert personas.client(personas.police).get(url).status_code in (403, 404)


def test_the_lead_ends_the_access_and_the_end_date_ends_it_too(
    personas, world, client, django_capture_on_commit_callbacks
):
    invitation, token = invite(
        personas,
        world,
        django_capture_on_commit_callbacks,
        until=timezone.localdate() + timedelta(days=10),
    )
    accept(client, token)
    guest = User.objects.get(username="lindner")
    assert (
        personas.client(guest).get(reverse("cases:case", args=[world.case.pk])).status_code == 200
    )
    membership = Membership.objects.get(user=guest)
    end = timezone.localtime(membership.valid_until)
    assert (end.date(), end.hour, end.minute) == (invitation.until + timedelta(days=1), 0, 0)
    # when that moment has passed, the seat is gone by itself
    Membership.objects.filter(pk=membership.pk).update(
        valid_from=timezone.now() - timedelta(days=1),
        valid_until=timezone.now() - timedelta(seconds=1),
    )
    case_page = reverse("cases:case", args=[world.case.pk])
    assert personas.client(guest).get(case_page).status_code == 404
    Membership.objects.filter(pk=membership.pk).update(valid_until=end)

    response = personas.client(personas.partner).post(
        reverse("cases:invitation_end", args=[world.case.pk, invitation.pk])
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "ended"
    # the therapy's participation named only the guest: it ends with them
    assert not Participant.objects.active().filter(case=world.case, organisation=therapy())
    assert (
        personas.client(guest).get(reverse("cases:case", args=[world.case.pk])).status_code == 404
    )
    assert AuditEvent.objects.filter(action="cases.invitation.end").exists()


def test_a_second_professional_joins_the_organisations_participation(
    personas, world, client, django_capture_on_commit_callbacks
):
    police_org = org(personas.police)
    _invitation, token = invite(
        personas,
        world,
        django_capture_on_commit_callbacks,
        organisation=police_org,
        role=None,
        name="KHK Jansen",
        email="jansen@lka.example.org",
    )
    accept(client, token, username="jansen")
    guest = User.objects.get(username="jansen")
    assert guest in world.police.members.all()
    assert Participant.objects.filter(case=world.case, organisation=police_org).count() == 1
    page = whole_case_page(personas.client(guest), world.case.pk)
    assert "Keine polizeilichen Erkenntnisse." in page and "Vertrauliche Beratung" not in page


def test_the_form_offers_every_role_but_the_lead():
    from casebridge.cases.forms import InvitationForm
    from casebridge.cases.selectors import invitable_organisations

    codes = {
        t.code
        for t in InvitationForm(organisations=invitable_organisations()).fields["role"].queryset
    }
    assert "lead_counselling" not in codes
    assert {"health_care", "police_liaison", "probation", "co_counselling"} <= codes
    organisations = invitable_organisations()
    assert not organisations.filter(is_hotline=True).exists()
