"""The settings modules (telecom/settings/): importing them starts nothing, production enforces
HTTPS and a secret key of its own, and every response carries the headers base promises."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from telecom.headers import content_security_policy

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_ENV = {
    "DJANGO_SETTINGS_MODULE": "telecom.settings.production",
    "DATABASE_URL": "postgres://telecom@db.internal:5432/telecom",
    "SECRET_KEY": "k7Qv2pXr9-production-test-key-ZtW4mLc8Hn3Jd6Fs1Bg5Yu0Pe_Aq",
    "ALLOWED_HOSTS": "telecom.example.com",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
}


def run_python(*args: str, env: dict[str, str], unset: tuple[str, ...] = ()):
    environ = {key: value for key, value in {**os.environ, **env}.items() if key not in unset}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_importing_the_settings_without_a_database_url_starts_nothing_and_says_why(tmp_path):
    result = run_python(
        "-c",
        "import telecom.settings.base",
        env={"TELECOM_VAR_DIR": str(tmp_path)},
        unset=("DATABASE_URL",),
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured: DATABASE_URL is not set" in result.stderr
    assert not (tmp_path / "pgdata").exists()


def test_production_refuses_to_start_without_a_secret_key():
    result = run_python(
        "-c", "import telecom.settings.production", env=DEPLOY_ENV, unset=("SECRET_KEY",)
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


def test_production_passes_the_deployment_checks():
    result = run_python("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=DEPLOY_ENV)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_trusts_the_proxy_header_the_environment_names():
    show = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.DEBUG)"
    )

    named = run_python("-c", show, env=DEPLOY_ENV)
    with_value = run_python(
        "-c", show, env={**DEPLOY_ENV, "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Ssl=on"}
    )
    unset = run_python("-c", show, env=DEPLOY_ENV, unset=("SECURE_PROXY_SSL_HEADER",))

    assert named.stdout.split() == [
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
        "True",
        "True",
        "True",
        "31536000",
        "False",
    ]
    assert with_value.stdout.startswith("('HTTP_X_FORWARDED_SSL', 'on')")
    assert unset.stdout.startswith("None ")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/sign-in/", "/admin/login/", "/api/v1/docs/", "/api/v1/redoc/", "/no-such-page/"]
)
def test_pages_carry_the_content_security_policy(client, path):
    response = client.get(path)

    policy = response["Content-Security-Policy"]
    assert policy == content_security_policy()
    assert "script-src 'self';" in policy
    assert "frame-ancestors 'none'" in policy


def test_the_swagger_page_has_no_inline_script(client, db):
    page = client.get("/api/v1/docs/").content.decode()
    script = client.get("/api/v1/docs/?script=")

    assert "<script>" not in page
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


def test_api_json_responses_are_not_stored(api_client_for, owner, anon_client):
    answered = api_client_for(owner).get("/api/v1/organisation/")
    refused = anon_client.get("/api/v1/organisation/")
    missing = anon_client.get("/api/v1/no-such-route/")

    for response in (answered, refused, missing):
        assert "json" in response["Content-Type"]
        assert response["Cache-Control"] == "no-store"
    assert answered.status_code == 200
    assert refused.status_code == 401
    assert missing.status_code == 404
