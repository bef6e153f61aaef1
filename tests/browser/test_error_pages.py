"""Error pages and the API docs in a real browser: the webapp's and the console's 404 pages say
what happened and lead back home; the API docs render with no request leaving the live server.
Screenshots go to artifacts/screenshots/."""

import pytest

from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, screenshot
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "console-password-1"


@pytest.fixture
def owner(live_server):
    organisation = OrganisationFactory(name="Lost Pages Org")
    owner = UserFactory(organisation=organisation, role="owner", email="owner@lost.example")
    owner.set_password(PASSWORD)
    owner.save()
    return owner


def test_the_webapp_404_page_leads_home(new_page, live_server):
    from playwright.sync_api import expect  # after the browser fixture: it skips or fails first

    for viewport, name in ((DESKTOP, "error-404-webapp"), (PHONE, "error-404-webapp-phone")):
        page = new_page(viewport)
        response = page.goto("/no-such-page/")

        assert response.status == 404
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        expect(page.get_by_text("This page does not exist.")).to_be_visible()
        back = page.get_by_role("link", name="Back to your home page")
        expect(back).to_be_visible()
        screenshot(page, name)
        back.click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_the_console_404_page_leads_to_the_console_home(new_page, owner):
    from playwright.sync_api import expect

    page = new_page(DESKTOP)
    page.goto("/admin/login/")
    page.locator("#id_username").fill("owner@lost.example")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    response = page.goto("/admin/no-such-page/")

    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_text("This page does not exist.")).to_be_visible()
    screenshot(page, "error-404-console")
    page.get_by_role("link", name="Back to the console home").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


@pytest.mark.parametrize(
    ("path", "rendered", "name"),
    [
        ("/api/v1/docs/", ".swagger-ui .info .title", "api-docs-swagger-offline"),
        ("/api/v1/redoc/", "h1", "api-docs-redoc-offline"),
    ],
)
def test_the_api_docs_render_with_no_request_leaving_the_server(
    new_page, live_server, path, rendered, name
):
    from playwright.sync_api import expect

    page = new_page(DESKTOP)
    requested = []  # what the browser sent to the network (the fixture's route aborts the rest)

    def record(route):
        requested.append(route.request.url)
        route.fallback()

    page.route("**/*", record)

    page.goto(path)

    expect(page.locator(rendered).first).to_contain_text(
        "Telecom administration API", timeout=30_000
    )
    page.wait_for_load_state("networkidle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))  # the first screen: the page is long
    elsewhere = [url for url in requested if not url.startswith((live_server.url, "data:"))]
    assert elsewhere == []
    assert any("/static/drf_spectacular_sidecar/" in url for url in requested)
