from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import views

router = SimpleRouter()
router.register("members", views.MemberViewSet, basename="member")
router.register("auth/tokens", views.ApiTokenViewSet, basename="api-token")

organisation = views.OrganisationViewSet.as_view({"get": "retrieve", "patch": "partial_update"})

urlpatterns = [
    path("signup/", views.SignupView.as_view(), name="signup"),
    path("signup/confirm/", views.SignupConfirmView.as_view(), name="signup-confirm"),
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("organisation/", organisation, name="organisation"),
    *router.urls,
]
