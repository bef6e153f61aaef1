"""The end-user webapp: thin views over webapp.selectors (reads) and webapp.services (writes).

Every page is the signed-in member's own: rows come from selectors that take the organisation
and the member, so another member's (or organisation's) id is a 404. Dates are shown in the
member's time zone (their own, else their organisation's).
"""

import datetime as dt
from functools import wraps

from django.contrib import messages as flash
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import invitations, signup
from billing.restriction import organisation_standing
from numbering.models import PhoneNumber
from numbering.phone import SMS
from telecom.errors import DomainError
from webapp import selectors, services
from webapp.filters import CallFilterSet
from webapp.forms import (
    InvitationAcceptForm,
    MessageSendForm,
    PasswordChangeForm,
    PasswordResetForm,
    ProfileForm,
    ReplyForm,
    SignInForm,
)
from webapp.http import audio_response

PAGE_SIZE = 25


def display_timezone(user) -> str:
    if user.timezone:
        return user.timezone
    if user.organisation_id:
        return user.organisation.timezone
    return "UTC"


def member_view(view):
    """Signed-in members only, in their display time zone, never cached.

    Platform staff belong to no organisation and have no numbers: they go to the console.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("webapp:login"))
        if user.organisation_id is None:
            return redirect("admin:index")
        with timezone.override(display_timezone(user)):
            response = view(request, *args, **kwargs)
        add_never_cache_headers(response)
        return response

    return wrapper


def _scope(request) -> dict:
    return {"organisation": request.user.organisation, "member": request.user}


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# --- sign-in, sign-out, password reset, invitations --------------------------------------------


class SignInView(auth_views.LoginView):
    template_name = "registration/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True
    next_page = reverse_lazy("webapp:home")


class SignOutView(auth_views.LogoutView):
    next_page = reverse_lazy("webapp:login")

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        flash.info(request, "You are signed out.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "registration/reset_request.html"
    email_template_name = "registration/reset_email.txt"
    subject_template_name = "registration/reset_subject.txt"
    success_url = reverse_lazy("webapp:password_reset_sent")


class PasswordResetSentView(auth_views.PasswordResetDoneView):
    template_name = "registration/reset_sent.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/reset_confirm.html"
    success_url = reverse_lazy("webapp:password_reset_complete")

    def form_valid(self, form):
        services.password_change(member=form.user, password=form.cleaned_data["new_password1"])
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return redirect(self.get_success_url())


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/reset_complete.html"


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    """An invited member sets a password, becomes active and lands on their home page."""
    try:
        member = invitations.invitation_member_for(token)
    except invitations.InvitationInvalid as exc:
        response = render(
            request, "registration/invitation_invalid.html", {"reason": str(exc)}, status=404
        )
        add_never_cache_headers(response)
        return response
    form = InvitationAcceptForm(member, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = invitations.invitation_accept(
                member=member,
                password=form.cleaned_data["new_password1"],
                name=form.cleaned_data["name"],
            )
        except invitations.InvitationInvalid as exc:
            form.add_error(None, str(exc))
        else:
            login(request, member)
            flash.success(request, f"Welcome, {member.get_short_name()}. Your account is ready.")
            return redirect("webapp:home")
    response = render(request, "registration/invitation.html", {"form": form, "invited": member})
    add_never_cache_headers(response)
    return response


@require_http_methods(["GET", "POST"])
def signup_confirm(request, token: str):
    """The link e-mailed on sign-up: confirming creates the organisation and its owner, who is
    signed in and lands on the console (docs/security.md "Enumeration")."""
    try:
        pending = signup.signup_request_for(token)
    except signup.SignupLinkInvalid as exc:
        return _never_cached(
            render(request, "registration/signup_confirm.html", {"reason": exc.message}, status=404)
        )
    error = None
    if request.method == "POST":
        try:
            _organisation, owner, _key = signup.signup_confirm(token=token)
        except signup.SignupLinkInvalid as exc:
            error = exc.message
        except ValidationError as exc:  # the address was taken since the request
            error = " ".join(exc.messages)
        else:
            login(request, owner)
            flash.success(request, f"Welcome, {owner.get_short_name()}. Your account is ready.")
            return redirect("admin:index")
    return _never_cached(
        render(request, "registration/signup_confirm.html", {"signup": pending, "error": error})
    )


def _never_cached(response):
    add_never_cache_headers(response)
    return response


# --- home -----------------------------------------------------------------------------------


@member_view
@require_GET
def home(request):
    scope = _scope(request)
    numbers = list(selectors.my_numbers(**scope))
    licences = list(selectors.my_licences(**scope))
    week_ago = timezone.now() - dt.timedelta(days=7)
    return render(
        request,
        "webapp/home.html",
        {
            "numbers": numbers,
            "licences": licences,
            "extensions": [licence.extension for licence in licences if licence.extension],
            "summary": selectors.my_summary(**scope, since=week_ago),
            "recent_voicemails": list(selectors.my_voicemails(**scope)[:3]),
            "standing": organisation_standing(request.user.organisation)
            if request.user.organisation
            else None,
            "nav": "home",
        },
    )


# --- messages -------------------------------------------------------------------------------


def _send(request, form, *, number: PhoneNumber, to: str, body: str):
    """Call the service; on refusal put the reason on the form and return None."""
    try:
        return services.message_send(member=request.user, number=number, to=to, body=body)
    except DomainError as exc:
        form.add_error(None, ValidationError(exc.detail, code=exc.code))
    except ValidationError as exc:
        _add_errors(form, exc)
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
    return None


def _conversation_url(number_id, peer: str) -> str:
    return reverse("webapp:conversation", kwargs={"number_id": number_id, "peer": peer})


@member_view
@require_http_methods(["GET", "POST"])
def messages_index(request):
    scope = _scope(request)
    numbers = selectors.my_numbers(**scope)
    initial = {}
    if request.GET.get("from"):
        initial["from_number"] = request.GET["from"]
    form = MessageSendForm(request.POST or None, numbers=numbers, initial=initial)
    if request.method == "POST" and form.is_valid():
        message = _send(
            request,
            form,
            number=form.cleaned_data["from_number"],
            to=form.cleaned_data["to"],
            body=form.cleaned_data["body"],
        )
        if message is not None:
            flash.success(request, "Message sent.")
            return redirect(_conversation_url(message.number_id, message.peer))
    number_list = list(numbers)
    return render(
        request,
        "webapp/messages.html",
        {
            "form": form,
            "numbers": number_list,
            "sms_numbers": [n for n in number_list if SMS in n.capabilities],
            "conversations": selectors.my_conversations(**scope),
            "nav": "messages",
        },
        status=400 if form.errors else 200,
    )


@member_view
@require_http_methods(["GET", "POST"])
def conversation(request, number_id, peer: str):
    """One number's messages with one peer, oldest first; reply below (htmx: in place)."""
    scope = _scope(request)
    held = selectors.my_numbers(**scope).filter(pk=number_id).first()
    number = held or get_object_or_404(
        PhoneNumber, pk=number_id, organisation=scope["organisation"]
    )
    canonical = services.peer_normalise(peer, region=number.country)
    thread = None
    if held is None:
        # A number the member no longer holds: its old conversation stays readable to them;
        # anyone else's number is not found.
        thread = selectors.my_conversation(**scope, number=number, peer=canonical)
        if not thread:
            raise Http404("No such conversation.")
    if canonical != peer:  # "06 98 76 54 32" and "+33698765432" are one conversation
        return redirect(_conversation_url(number.pk, canonical))
    can_reply = held is not None and SMS in held.capabilities
    form = ReplyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if held is None:
            raise Http404("No such number.")
        if form.is_valid():
            sent = _send(request, form, number=held, to=peer, body=form.cleaned_data["body"])
            if sent is not None:
                if not request.htmx:
                    return redirect(_conversation_url(held.pk, sent.peer))
                form = ReplyForm()
        if form.errors:
            status = 400 if not request.htmx else 200  # htmx swaps only 2xx answers
    if thread is None:
        thread = selectors.my_conversation(**scope, number=number, peer=peer)
    context = {
        "number": number,
        "peer": peer,
        "thread": thread,
        "form": form,
        "can_reply": can_reply,
        "nav": "messages",
    }
    if request.htmx:
        return render(request, "webapp/partials/conversation.html", context, status=status)
    return render(request, "webapp/conversation.html", context, status=status)


@member_view
@require_GET
def message_detail(request, pk):
    message = get_object_or_404(selectors.my_messages(**_scope(request)), pk=pk)
    return redirect(_conversation_url(message.number_id, message.peer) + f"#message-{message.pk}")


# --- calls ----------------------------------------------------------------------------------


@member_view
@require_GET
def calls(request):
    calls_qs = selectors.my_calls(**_scope(request)).order_by("-started_at", "-id")
    filterset = CallFilterSet(request.GET, queryset=calls_qs, request=request)
    rows = filterset.qs if filterset.is_valid() else calls_qs.none()
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": filterset,
        "page": page,
        "query": query.urlencode(),
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
        "nav": "calls",
    }
    if request.htmx:
        return render(request, "webapp/partials/call_results.html", context)
    return render(request, "webapp/calls.html", context)


@member_view
@require_GET
def call_detail(request, pk):
    call = get_object_or_404(selectors.my_calls(**_scope(request)), pk=pk)
    return render(request, "webapp/call_detail.html", {"call": call, "nav": "calls"})


# --- voicemail ------------------------------------------------------------------------------


@member_view
@require_GET
def voicemails(request):
    rows = selectors.my_voicemails(**_scope(request))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "webapp/voicemails.html", {"page": page, "nav": "voicemail"})


@member_view
@require_GET
def voicemail_detail(request, pk):
    voicemail = get_object_or_404(selectors.my_voicemails(**_scope(request)), pk=pk)
    return render(
        request, "webapp/voicemail_detail.html", {"voicemail": voicemail, "nav": "voicemail"}
    )


@member_view
@require_GET
def voicemail_audio(request, pk):
    voicemail = get_object_or_404(selectors.my_voicemails(**_scope(request)), pk=pk)
    return audio_response(request, voicemail)


@member_view
@require_POST
def voicemail_delete(request, pk):
    voicemail = get_object_or_404(selectors.my_voicemails(**_scope(request)), pk=pk)
    services.voicemail_delete(voicemail=voicemail, actor=request.user)
    if request.htmx:
        response = render(
            request, "webapp/partials/voicemail_deleted.html", {"voicemail": voicemail}
        )
        return response
    flash.success(request, "Voicemail deleted.")
    return redirect("webapp:voicemails")


# --- profile --------------------------------------------------------------------------------


@member_view
@require_http_methods(["GET", "POST"])
def profile(request):
    member = request.user
    organisation_tz = member.organisation.timezone
    form = ProfileForm(
        request.POST or None,
        organisation_timezone=organisation_tz,
        initial={"name": member.name, "timezone": member.timezone},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_update(
                member=member,
                name=form.cleaned_data["name"],
                timezone_name=form.cleaned_data["timezone"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            flash.success(request, "Your profile is saved.")
            return redirect("webapp:profile")
    return render(
        request,
        "webapp/profile.html",
        {
            "form": form,
            "password_form": PasswordChangeForm(member),
            "display_timezone": display_timezone(member),
            "nav": "profile",
        },
        status=400 if form.errors else 200,
    )


@member_view
@require_http_methods(["GET", "POST"])
def password_change(request):
    member = request.user
    form = PasswordChangeForm(member, request.POST or None)
    if request.method == "POST" and form.is_valid():
        member = services.password_change(
            member=member, password=form.cleaned_data["new_password1"]
        )
        update_session_auth_hash(request, member)
        flash.success(request, "Your password is changed.")
        return redirect("webapp:profile")
    if request.method == "GET":
        return redirect("webapp:profile")
    return render(
        request,
        "webapp/profile.html",
        {
            "form": ProfileForm(
                organisation_timezone=member.organisation.timezone,
                initial={"name": member.name, "timezone": member.timezone},
            ),
            "password_form": form,
            "display_timezone": display_timezone(member),
            "nav": "profile",
        },
        status=400,
    )
