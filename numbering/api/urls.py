from rest_framework.routers import SimpleRouter

from numbering.api import views

router = SimpleRouter()
router.register("available-numbers", views.AvailableNumberViewSet, basename="available-number")
router.register("numbers", views.NumberViewSet, basename="number")

urlpatterns = router.urls
