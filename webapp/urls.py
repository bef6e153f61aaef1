from django.urls import path

from webapp import views

app_name = "webapp"
urlpatterns = [
    path("", views.home, name="home"),
    # Signing in and out, password reset, invitations.
    path("sign-in/", views.SignInView.as_view(), name="login"),
    path("sign-out/", views.SignOutView.as_view(), name="logout"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        views.PasswordResetSentView.as_view(),
        name="password_reset_sent",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("sign-up/confirm/<str:token>/", views.signup_confirm, name="signup_confirm"),
    # The member's own pages.
    path("messages/", views.messages_index, name="messages"),
    path("messages/<uuid:pk>/", views.message_detail, name="message"),
    path(
        "messages/<uuid:number_id>/with/<str:peer>/",
        views.conversation,
        name="conversation",
    ),
    path("calls/", views.calls, name="calls"),
    path("calls/<uuid:pk>/", views.call_detail, name="call"),
    path("voicemail/", views.voicemails, name="voicemails"),
    path("voicemail/<uuid:pk>/", views.voicemail_detail, name="voicemail"),
    path("voicemail/<uuid:pk>/audio/", views.voicemail_audio, name="voicemail_audio"),
    path("voicemail/<uuid:pk>/delete/", views.voicemail_delete, name="voicemail_delete"),
    path("profile/", views.profile, name="profile"),
    path("profile/password/", views.password_change, name="password_change"),
]
