"""Issue 14 item 3: API tokens are stored hashed, stop working (401) on a new password, a
deactivation or 30 idle days, and members list and revoke their own (accounts/api_tokens.py)."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from accounts import lifecycle
from accounts.models import ApiToken
from accounts.service_tokens import digest
from tests.factories import UserFactory, token_for
from webapp import services as webapp_services

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def obtain(email, password="correct-horse-battery"):
    return APIClient().post(
        "/api/v1/auth/token/", {"email": email, "password": password}, format="json"
    )


def test_a_token_is_stored_only_as_a_digest_and_says_when_it_expires(owner):
    response = obtain(owner.email)

    assert response.status_code == 200
    key = response.json()["token"]
    assert response.json()["expires_at"] == "2026-04-01T09:00:00Z"  # 30 idle days
    stored = ApiToken.objects.get(user=owner)
    assert stored.key_digest == digest(key)
    assert key not in str(list(ApiToken.objects.values()))
    assert client_with(key).get("/api/v1/organisation/").status_code == 200


def test_a_password_change_voids_every_token(owner):
    key = obtain(owner.email).json()["token"]

    webapp_services.password_change(member=owner, password="a-new-long-password-9")

    assert client_with(key).get("/api/v1/organisation/").status_code == 401


def test_a_new_password_set_any_other_way_voids_the_token_too(owner):
    key = obtain(owner.email).json()["token"]
    owner.set_password("changed-elsewhere-42")  # e.g. `manage.py changepassword`
    owner.save()

    assert client_with(key).get("/api/v1/organisation/").status_code == 401


def test_a_completed_password_reset_voids_the_token(client, owner):
    import re

    from django.core import mail

    key = obtain(owner.email).json()["token"]
    client.post("/password/reset/", {"email": owner.email})
    link = re.search(r"https?://[^/\s]+(/\S+)", mail.outbox[0].body)[1]
    form_page = client.get(link, follow=True)
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-long-password-9", "new_password2": "a-new-long-password-9"},
    )

    assert client_with(key).get("/api/v1/organisation/").status_code == 401


def test_a_deactivated_member_token_is_refused(owner, admin_member):
    key = token_for(admin_member)

    lifecycle.member_remove(member=admin_member, actor=owner)

    assert client_with(key).get("/api/v1/organisation/").status_code == 401


def test_a_token_expires_after_thirty_idle_days_and_use_keeps_it_alive(owner, _clock):
    idle, used = token_for(owner), token_for(owner)
    for _ in range(4):  # used every ten days
        _clock.shift(dt.timedelta(days=10))
        assert client_with(used).get("/api/v1/organisation/").status_code == 200

    assert client_with(idle).get("/api/v1/organisation/").status_code == 401
    assert client_with(used).get("/api/v1/organisation/").status_code == 200


def test_the_idle_days_are_a_setting(owner, settings, _clock):
    settings.API_TOKEN_IDLE_DAYS = 2
    key = token_for(owner)
    _clock.shift(dt.timedelta(days=2, seconds=1))

    assert client_with(key).get("/api/v1/organisation/").status_code == 401


def test_a_member_lists_their_own_tokens_without_keys(owner, admin_member):
    mine = [obtain(owner.email).json()["token"] for _ in range(2)]
    token_for(admin_member)

    response = client_with(mine[0]).get("/api/v1/auth/tokens/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 2
    assert set(rows[0]) == {"id", "created_at", "last_used_at", "expires_at"}
    assert not any(key in response.content.decode() for key in mine)


def test_a_member_revokes_a_token_and_it_stops_working(owner):
    first, second = token_for(owner), token_for(owner)
    ids = {row["id"] for row in client_with(first).get("/api/v1/auth/tokens/").json()["results"]}
    second_id = str(ApiToken.objects.get(key_digest=digest(second)).pk)
    assert second_id in ids

    assert client_with(first).delete(f"/api/v1/auth/tokens/{second_id}/").status_code == 204

    assert client_with(second).get("/api/v1/organisation/").status_code == 401
    assert client_with(first).get("/api/v1/organisation/").status_code == 200


def test_another_members_token_cannot_be_seen_or_revoked(owner, other_owner):
    theirs = token_for(other_owner)
    their_id = ApiToken.objects.get(key_digest=digest(theirs)).pk

    client = client_with(token_for(owner))
    assert client.delete(f"/api/v1/auth/tokens/{their_id}/").status_code == 404
    assert str(their_id) not in client.get("/api/v1/auth/tokens/").content.decode()
    assert client_with(theirs).get("/api/v1/organisation/").status_code == 200


def test_the_telephony_platform_has_no_token_list(db):
    from accounts.service_tokens import service_token_create

    client = client_with(service_token_create(name="pbx")[1])

    assert client.get("/api/v1/auth/tokens/").status_code == 403


def test_anonymous_callers_get_401(anon_client):
    assert anon_client.get("/api/v1/auth/tokens/").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_existing_clear_tokens(organisation):
    member = UserFactory(organisation=organisation)
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0009_api_tokens")])
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "insert into authtoken_token (key, user_id, created) values (%s, %s, now())",
                ["0123456789abcdef0123456789abcdef01234567", member.pk],
            )
        executor = MigrationExecutor(connection)
        executor.migrate([("accounts", "0010_hash_existing_api_tokens")])
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    with connection.cursor() as cursor:
        cursor.execute("select count(*) from authtoken_token")
        assert cursor.fetchone()[0] == 0
    assert ApiToken.objects.get().key_digest == digest("0123456789abcdef0123456789abcdef01234567")
    key = "0123456789abcdef0123456789abcdef01234567"
    assert client_with(key).get("/api/v1/organisation/").status_code == 200
