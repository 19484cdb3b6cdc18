"""Tokens record where they were created, whether with a second factor, and the password
they belong to (issue 14: a token minted by a token could outlive and outrank its parent).

Tokens from before get origin "unrecorded". They keep working until the password changes:
their ``auth_hash`` is taken from the current password. ``second_factor`` is presumed where
the user has a confirmed authenticator (the pages and the session API asked for it then);
docs/operations.md tells the operator how to find and revoke unrecorded tokens.
"""

from django.db import migrations, models
from django.utils.crypto import salted_hmac

# The key salt of Django's AbstractBaseUser.get_session_auth_hash(): historical models
# have no methods, so the migration computes the same HMAC itself.
SESSION_AUTH_SALT = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"


def bind_existing_tokens(apps, schema_editor):
    ApiToken = apps.get_model("accounts", "ApiToken")
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    enrolled = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    for token in ApiToken.objects.select_related("user").iterator():
        token.auth_hash = salted_hmac(
            SESSION_AUTH_SALT, token.user.password, algorithm="sha256"
        ).hexdigest()
        token.second_factor = token.user_id in enrolled
        token.save(update_fields=["auth_hash", "second_factor"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_login_throttling"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="origin",
            field=models.CharField(
                choices=[
                    ("page", "profile page"),
                    ("session_api", "API in a browser session"),
                    ("command", "command line (operator)"),
                    ("unrecorded", "not recorded (created before origins were kept)"),
                ],
                default="unrecorded",
                max_length=16,
                verbose_name="origin",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="apitoken",
            name="second_factor",
            field=models.BooleanField(default=False, verbose_name="created with a second factor"),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="auth_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(bind_existing_tokens, migrations.RunPython.noop),
    ]
