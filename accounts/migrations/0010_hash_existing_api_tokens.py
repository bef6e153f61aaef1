"""Existing members' DRF tokens (stored in clear) become hashed ApiTokens: the same keys keep
working (idle from the migration on), issued under the member's current password, and the clear keys are deleted."""

import hashlib

from django.db import migrations
from django.utils import timezone
from django.utils.crypto import salted_hmac


def hash_tokens(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    ApiToken = apps.get_model("accounts", "ApiToken")
    now = timezone.now()
    rows = []
    for token in Token.objects.select_related("user").iterator():
        rows.append(
            ApiToken(
                user_id=token.user_id,
                key_digest=hashlib.sha256(token.key.encode()).hexdigest(),
                # accounts.api_tokens._password_digest, as of this migration
                password_digest=salted_hmac(
                    "accounts.api_tokens.password", token.user.password
                ).hexdigest()[:64],
                created_at=token.created,
                # Idle time starts now: existing integrations keep API_TOKEN_IDLE_DAYS.
                last_used_at=now,
            )
        )
    ApiToken.objects.bulk_create(rows, ignore_conflicts=True)
    Token.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_api_tokens"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [migrations.RunPython(hash_tokens, migrations.RunPython.noop)]
