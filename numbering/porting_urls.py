"""Routes of API.md "Porting" (numbering.porting_api)."""

from rest_framework.routers import SimpleRouter

from numbering.porting_api import PortingRequestViewSet

router = SimpleRouter()
router.register("porting-requests", PortingRequestViewSet, basename="porting-request")

urlpatterns = router.urls
