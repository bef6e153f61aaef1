from rest_framework.routers import SimpleRouter

from webapp.api import views

router = SimpleRouter()
router.register("messages", views.MessageViewSet, basename="message")
router.register("voicemails", views.VoicemailViewSet, basename="voicemail")

urlpatterns = router.urls
