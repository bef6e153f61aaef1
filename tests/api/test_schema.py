"""The OpenAPI schema and its docs render, and the schema has no warnings."""

from django.core.management import call_command


def test_schema_and_docs_render(anon_client, db):
    schema = anon_client.get("/api/v1/schema/")
    docs = anon_client.get("/api/v1/docs/")

    assert schema.status_code == 200
    assert b"/api/v1/licences/purchase/preview/" in schema.content
    assert docs.status_code == 200


def test_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))

    text = (tmp_path / "schema.yml").read_text()
    for path in (
        "/api/v1/signup/",
        "/api/v1/signup/confirm/",
        "/api/v1/auth/token/",
        "/api/v1/organisation/",
        "/api/v1/organisation/payment-methods/",
        "/api/v1/organisation/payment-methods/{id}/default/",
        "/api/v1/invoices/{id}/pay/",
        "/api/v1/members/{id}/",
        "/api/v1/lines/",
        "/api/v1/licence-types/{code}/",
        "/api/v1/devices/",
        "/api/v1/licences/summary/",
        "/api/v1/licences/{id}/addons/",
        "/api/v1/licences/remove/preview/",
        "/api/v1/invoices/{id}/",
    ):
        assert f"{path}:" in text, path
