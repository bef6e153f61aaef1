"""Routes of the porting API (`numbering.porting.api`)."""

from rest_framework.routers import SimpleRouter

from numbering.porting.api import PortingRequestViewSet

router = SimpleRouter()
router.register("porting-requests", PortingRequestViewSet, basename="porting-request")

urlpatterns = router.urls
