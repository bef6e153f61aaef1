from django.urls import include, path
from rest_framework.routers import SimpleRouter

from licensing.api import views

router = SimpleRouter()
router.register("licence-types", views.LicenceTypeViewSet, basename="licence-type")
router.register("devices", views.DeviceViewSet, basename="device")
router.register("lines", views.LineViewSet, basename="line")
router.register("licences", views.LicenceViewSet, basename="licence")

# Before the router: its licence detail route would read "mass-configuration" as an id.
urlpatterns = [
    path("licences/mass-configuration/", include("licensing.mass_config_api")),
    *router.urls,
]
