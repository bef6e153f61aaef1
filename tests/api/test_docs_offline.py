"""The API docs render with no internet: Swagger UI and ReDoc load only from this site's /static/
(docs/api.md), and every file they name is served by the product itself."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""")


@pytest.fixture
def static_client(settings):
    """A client whose WhiteNoise finds the apps' static files (no `collectstatic` in tests); a
    fresh client builds its middleware after the settings change."""
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    return Client()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/api/v1/docs/",
            {
                "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
                "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
                "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
                "/static/drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png",
            },
        ),
        ("/api/v1/redoc/", {"/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"}),
    ],
)
def test_the_api_docs_load_only_from_this_site(static_client, path, expected):
    page = static_client.get(path)
    html = page.content.decode()
    references = set(REFERENCE.findall(html))

    assert page.status_code == 200
    assert re.findall(r"https?://", html) == []  # no CDN, no web fonts, no validator
    assert expected <= references
    # Swagger UI's set-up script is the page's own, served by the view (no inline script: the
    # Content-Security-Policy refuses those).
    own = {"/api/v1/schema/", "/api/v1/docs/?script="}
    for url in references & own - {"/api/v1/schema/"}:
        assert static_client.get(url).status_code == 200, url
    for url in references - own:
        assert url.startswith("/static/"), url
        served = static_client.get(url)
        assert served.status_code == 200, url
        assert b"".join(served.streaming_content if served.streaming else [served.content])


def test_the_docs_point_at_the_schema_which_is_served(static_client):
    html = static_client.get("/api/v1/redoc/").content.decode()

    assert 'spec-url="/api/v1/schema/"' in html
    assert static_client.get("/api/v1/schema/").status_code == 200
