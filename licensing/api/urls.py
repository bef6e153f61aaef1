from rest_framework.routers import SimpleRouter

from licensing.api import views

router = SimpleRouter()
router.register("licence-types", views.LicenceTypeViewSet, basename="licence-type")
router.register("devices", views.DeviceViewSet, basename="device")
router.register("lines", views.LineViewSet, basename="line")
router.register("licences", views.LicenceViewSet, basename="licence")

urlpatterns = router.urls
