from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from telecom.views import healthz

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("licensing.api.urls")),
    path("", include("numbering.api.urls")),
    path("", include("numbering.porting.urls")),
    path("", include("billing.api.urls")),
    path("", include("webapp.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's set-up script served as a file, not inline: the Content-Security-Policy
    # allows no inline script (telecom/settings/base.py).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path(
        "redoc/",
        # The product's template drops ReDoc's Google web fonts: nothing loads from elsewhere.
        SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"),
        name="redoc",
    ),
]

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    # The console's sign-in links here ("Forgotten your login credentials?"): members of every
    # role reset their password through the webapp's pages, which mail the link.
    path(
        "admin/password-reset/",
        RedirectView.as_view(pattern_name="webapp:password_reset"),
        name="admin_password_reset",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("", include("webapp.urls")),
]

# Branded error pages for the console and the webapp, JSON under /api/ (telecom.views).
handler400 = "telecom.views.bad_request"
handler403 = "telecom.views.permission_denied"
handler404 = "telecom.views.page_not_found"
handler500 = "telecom.views.server_error"
