"""Issue 14 item 5: uploads cannot take the site down. A body over MAX_REQUEST_BYTES is refused
from its Content-Length before it is read (telecom/middleware.py); a mass-configuration file
holds at most MASS_CONFIG_MAX_ROWS rows (licensing/mass_config/reading.py)."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse

from licensing.mass_config import mass_config_validate
from telecom.middleware import RequestSizeLimitMiddleware

pytestmark = pytest.mark.django_db

HUGE = 200 * 1024 * 1024
HEADER = "Ext Key,Number,User"


class Unreadable(io.RawIOBase):
    """A request body that must never be read."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readinto = read


def test_a_huge_body_is_refused_before_a_byte_is_read(settings):
    request = RequestFactory().post(
        "/api/v1/licences/mass-configuration/",
        data=b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(HUGE),
    )
    request.META["wsgi.input"] = Unreadable()
    request._stream = Unreadable()
    called = []

    response = RequestSizeLimitMiddleware(lambda r: called.append(r))(request)

    assert called == []
    assert response.status_code == 413
    assert json.loads(response.content)["code"] == "file_too_large"
    assert response["Connection"] == "close"


@pytest.mark.parametrize(
    "path", ["/api/v1/licences/mass-configuration/", "/api/v1/porting-requests/"]
)
def test_api_uploads_over_the_limit_are_413_in_the_error_format(api_client_for, owner, path):
    response = api_client_for(owner).post(
        path,
        {"file": SimpleUploadedFile("big.csv", b"x" * 10)},
        format="multipart",
        CONTENT_LENGTH=str(HUGE),
    )

    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "file_too_large"
    assert body["fields"]["file"][0]["code"] == "file_too_large"
    assert "larger than 10 MB" in body["detail"]


def test_console_uploads_over_the_limit_get_a_page_that_says_so(client, owner):
    client.force_login(owner)

    response = client.post(
        reverse("admin:licensing_licence_mass_configuration"),
        {"file": SimpleUploadedFile("big.csv", b"x" * 10)},
        CONTENT_LENGTH=str(HUGE),
    )

    assert response.status_code == 413
    text = response.content.decode()
    assert "File too large" in text and "split it into several files" in text


def test_a_request_within_the_limit_goes_on(api_client_for, owner, settings):
    response = api_client_for(owner).get("/api/v1/organisation/")

    assert response.status_code == 200


def test_a_file_just_over_its_own_limit_gets_the_form_error(api_client_for, owner, settings):
    settings.MASS_CONFIG_MAX_BYTES = 1024
    data = (HEADER + "\r\n" + "101,,x\r\n" * 200).encode()

    response = api_client_for(owner).post(
        "/api/v1/licences/mass-configuration/",
        {"file": SimpleUploadedFile("a.csv", data, "text/csv"), "dry_run": "true"},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["rows"][0]["code"] == "file_too_large"


def test_mass_configuration_rows_are_capped(organisation, settings):
    settings.MASS_CONFIG_MAX_ROWS = 5
    rows = "".join(f"{100 + i},,someone{i}@x.example\r\n" for i in range(6))

    report = mass_config_validate(
        organisation=organisation, file_bytes=(HEADER + "\r\n" + rows).encode()
    )

    assert [(e.code, e.message) for e in report.errors] == [
        ("too_many_rows", "The file has more than 5 extension rows; split it into several files.")
    ]


def test_the_default_row_cap_is_twenty_thousand():
    from licensing.mass_config.reading import max_rows_allowed

    assert max_rows_allowed() == 20_000
