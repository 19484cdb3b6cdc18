"""Identity data is encrypted at rest (DESIGN.md invariant 6), keys rotate, bad key rings
are refused naming the variable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from casebridge.crypto import keys
from casebridge.crypto.fields import protected_fields

pytestmark = pytest.mark.django_db

T1 = "t1:" + "B" * 43 + "="


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608 - test
        return cursor.fetchone()[0]


@pytest.fixture
def contact(personas, make_contact):
    return make_contact(
        anonymous=False, caller_name="Erika Mustermann", caller_phone="+49 40 123456"
    )


def test_identity_is_stored_sealed_and_read_plain(contact):
    stored = raw("hotline_contact", "caller_name", contact.pk)
    assert stored.startswith("cbenc1:t2:")
    assert "Erika" not in stored
    from casebridge.hotline.models import Contact

    assert Contact.objects.get(pk=contact.pk).caller_name == "Erika Mustermann"


def test_every_protected_column_is_encrypted():
    names = {(model.__name__, name) for model, name in protected_fields()}
    assert ("Case", "last_name") in names and ("Contact", "caller_phone") in names
    for model, name in protected_fields():
        field = model._meta.get_field(name)
        assert field.get_prep_value("x").startswith("cbenc1:"), (model, name)


def test_ciphertext_is_bound_to_its_column(contact):
    stored = raw("hotline_contact", "caller_name", contact.pk)
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        keys.decrypt(stored, context="hotline.contact.caller_phone")


def test_empty_values_stay_empty(personas, make_contact):
    contact = make_contact()
    assert raw("hotline_contact", "caller_name", contact.pk) == ""


def test_rotation_reseals_everything_with_the_current_key(contact, monkeypatch, capsys):
    # Write a value under the old key t1 as current, then make t2 current again and rotate.
    monkeypatch.setenv("CASEBRIDGE_KEYS", T1 + ",t2:" + "A" * 43 + "=")
    keys.key_ring.cache_clear()
    from casebridge.hotline.models import Contact

    Contact.objects.filter(pk=contact.pk).update(caller_name="Max Muster")
    assert raw("hotline_contact", "caller_name", contact.pk).startswith("cbenc1:t1:")
    monkeypatch.setenv("CASEBRIDGE_KEYS", "t2:" + "A" * 43 + "=," + T1)
    keys.key_ring.cache_clear()
    call_command("keys", "rotate", "--batch", "2")
    assert raw("hotline_contact", "caller_name", contact.pk).startswith("cbenc1:t2:")
    assert Contact.objects.get(pk=contact.pk).caller_name == "Max Muster"
    assert "re-encrypted 1 rows and 0 documents with key t2" in capsys.readouterr().out
    keys.key_ring.cache_clear()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "CASEBRIDGE_KEYS: not set"),
        ("k1:notbase64!!", "CASEBRIDGE_KEYS: entry 1 (k1) is not base64"),
        ("k1:" + "QUJD", "CASEBRIDGE_KEYS: entry 1 (k1) must be 32 bytes, is 3"),
        ("justtext", "CASEBRIDGE_KEYS: entry 1 must be ID:BASE64"),
        (T1 + "," + T1, "CASEBRIDGE_KEYS: key id t1 appears twice"),
    ],
)
def test_bad_key_rings_name_the_variable(monkeypatch, value, message):
    if value:
        monkeypatch.setenv("CASEBRIDGE_KEYS", value)
    else:
        monkeypatch.delenv("CASEBRIDGE_KEYS", raising=False)
    keys.key_ring.cache_clear()
    try:
        with pytest.raises(
            ImproperlyConfigured, match=message.replace("(", r"\(").replace(")", r"\)")
        ):
            keys.key_ring()
    finally:
        keys.key_ring.cache_clear()


def test_blind_index_matches_normalised_values_only():
    assert keys.blind_index("Erika", " Mustermann ") == keys.blind_index("erika", "MUSTERMANN")
    assert keys.blind_index("Erika", "Mustermann") != keys.blind_index("Erik", "Mustermann")
    assert len(keys.blind_index("x")) == 64


def test_generate_prints_a_usable_key_line(capsys):
    call_command("keys", "generate", "--id", "k9")
    line = capsys.readouterr().out.strip()
    ring = keys.parse_key_ring(line, "test")
    assert list(ring.keys) == ["k9"]
