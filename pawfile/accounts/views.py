"""Web pages for accounts: landing, home, preferences, households, invitations, first admin.

Each view renders the full page, or only the fragment when HTMX asks (``HX-Request``).
Household errors come back as messages; strangers get 404.
"""

from __future__ import annotations

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from pawfile.accounts import selectors, services
from pawfile.accounts.choices import Role
from pawfile.accounts.firstadmin import setup_token_valid
from pawfile.accounts.forms import FirstAdminForm, InvitationForm, PreferencesForm, RoleForm
from pawfile.accounts.models import Household, User
from pawfile.lib.htmx import is_htmx


def _acting_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    return render(request, "accounts/landing.html")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _acting_user(request)
    households = selectors.household_list(user=user)
    memberships = user.memberships.select_related("household").order_by("joined_at", "id")
    return render(
        request,
        "accounts/home.html",
        {
            "households": households,
            "memberships": memberships,
            "mfa_enabled": is_mfa_enabled(user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    user = _acting_user(request)
    form = PreferencesForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your preferences were saved."))
        response = redirect("preferences")
        if user.locale:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                user.locale,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                samesite="Lax",
                max_age=365 * 86400,
            )
        else:
            response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
        return response
    return render(request, "accounts/preferences.html", {"form": form})


def _safe_next(request: HttpRequest) -> str:
    """The ``next`` field when it points into this site, else ``/`` (no open redirects)."""
    target = request.POST.get("next") or "/"
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@require_POST
def theme_set(request: HttpRequest) -> HttpResponse:
    """Switch light/dark/auto: saved on the user when signed in, in a cookie otherwise."""
    theme = request.POST.get("theme", "auto")
    if theme not in ("auto", "light", "dark"):
        theme = "auto"
    if request.user.is_authenticated:
        user = _acting_user(request)
        user.theme = theme
        user.save(update_fields=["theme"])
    response: HttpResponse = HttpResponseRedirect(_safe_next(request))
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
    response.set_cookie(
        "pawfile_theme", theme, max_age=365 * 86400, samesite="Lax", secure=settings.HTTPS
    )
    return response


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the interface language: saved on the user when signed in, and in the cookie."""
    language = request.POST.get("language", "")
    response = HttpResponseRedirect(_safe_next(request))
    if language not in dict(settings.LANGUAGES):
        return response
    if request.user.is_authenticated:
        user = _acting_user(request)
        user.locale = language
        user.save(update_fields=["locale"])
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 86400,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite="Lax",
    )
    return response


def _household(request: HttpRequest, household_id: int) -> Household:
    return selectors.household_get(user=_acting_user(request), household_id=household_id)


@login_required
def household_detail(request: HttpRequest, household_id: int) -> HttpResponse:
    user = _acting_user(request)
    household = _household(request, household_id)
    context = {
        "household": household,
        "members": selectors.member_list(user=user, household=household),
        "invitations": selectors.invitation_list(user=user, household=household),
        "is_owner": household.current_role == Role.OWNER,  # type: ignore[attr-defined]
        "invite_form": InvitationForm(),
        "role_choices": [(Role.CARETAKER, Role.CARETAKER.label), (Role.VIEWER, Role.VIEWER.label)],
    }
    template = "accounts/_members.html" if is_htmx(request) else "accounts/household.html"
    return render(request, template, context)


def _run(request: HttpRequest, household_id: int, action: str, **kwargs: object) -> HttpResponse:
    """Call a household service, turn its refusal into a message, go back to the page."""
    try:
        getattr(services, action)(**kwargs)
    except services.HouseholdError as exc:
        messages.error(request, str(exc))
    except PermissionError:
        raise PermissionDenied from None
    else:
        messages.success(request, _("Done."))
    if action in ("membership_leave",):
        return redirect("home")
    return redirect("household_detail", household_id=household_id)


@login_required
@require_POST
def household_rename(request: HttpRequest, household_id: int) -> HttpResponse:
    household = _household(request, household_id)
    return _run(
        request,
        household_id,
        "household_rename",
        household=household,
        actor=_acting_user(request),
        name=request.POST.get("name", ""),
    )


@login_required
@require_POST
def invitation_create(request: HttpRequest, household_id: int) -> HttpResponse:
    household = _household(request, household_id)
    form = InvitationForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("household_detail", household_id=household_id)
    return _run(
        request,
        household_id,
        "invitation_create",
        household=household,
        actor=_acting_user(request),
        email=form.cleaned_data["email"],
        role=form.cleaned_data["role"],
    )


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, household_id: int, invitation_id: int) -> HttpResponse:
    household = _household(request, household_id)
    invitation = get_object_or_404(household.invitations, pk=invitation_id)
    return _run(
        request,
        household_id,
        "invitation_revoke",
        invitation=invitation,
        actor=_acting_user(request),
    )


def _member(household: Household, user_id: int) -> User:
    return get_object_or_404(get_user_model(), pk=user_id, memberships__household=household)


@login_required
@require_POST
def member_role(request: HttpRequest, household_id: int, user_id: int) -> HttpResponse:
    household = _household(request, household_id)
    form = RoleForm(request.POST)
    role = form.cleaned_data["role"] if form.is_valid() else ""
    return _run(
        request,
        household_id,
        "membership_set_role",
        household=household,
        actor=_acting_user(request),
        member=_member(household, user_id),
        role=role,
    )


@login_required
@require_POST
def member_remove(request: HttpRequest, household_id: int, user_id: int) -> HttpResponse:
    household = _household(request, household_id)
    return _run(
        request,
        household_id,
        "membership_remove",
        household=household,
        actor=_acting_user(request),
        member=_member(household, user_id),
    )


@login_required
@require_POST
def member_transfer(request: HttpRequest, household_id: int, user_id: int) -> HttpResponse:
    household = _household(request, household_id)
    return _run(
        request,
        household_id,
        "household_transfer_ownership",
        household=household,
        actor=_acting_user(request),
        new_owner=_member(household, user_id),
    )


@login_required
@require_POST
def household_leave(request: HttpRequest, household_id: int) -> HttpResponse:
    household = _household(request, household_id)
    return _run(
        request, household_id, "membership_leave", household=household, user=_acting_user(request)
    )


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Show the invitation; a signed-in user accepts it with a POST."""
    try:
        invitation = services.invitation_from_token(token)
    except services.HouseholdError as exc:
        return render(request, "accounts/invitation.html", {"error": str(exc)}, status=410)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{settings.LOGIN_URL and '/accounts/login/'}?next={request.path}")
        try:
            membership = services.invitation_accept(token=token, user=_acting_user(request))
        except services.HouseholdError as exc:
            messages.error(request, str(exc))
            return redirect("invitation_accept", token=token)
        messages.success(request, _("Welcome to %(name)s.") % {"name": membership.household.name})
        return redirect("household_detail", household_id=membership.household_id)
    return render(request, "accounts/invitation.html", {"invitation": invitation})


@require_http_methods(["GET", "POST"])
def first_admin(request: HttpRequest, token: str) -> HttpResponse:
    """Create the first admin account from the one-time link ``pawfile serve`` prints."""
    if not setup_token_valid(token):
        return render(request, "404.html", status=404)
    form = FirstAdminForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.user_create(
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            name=form.cleaned_data.get("name", ""),
            is_staff=True,
            is_superuser=True,
        )
        from allauth.account.models import EmailAddress

        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request,
            _("Your admin account is ready. Set up two-factor authentication to open the admin."),
        )
        return redirect("mfa_index")
    return render(request, "accounts/first_admin.html", {"form": form})


def error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 400 page; a ``BadRequest`` raised with a message shows that message (our own
    sentences, escaped like any text), anything else the general one."""
    message = str(exception) if isinstance(exception, BadRequest) and exception.args else ""
    return render(request, "400.html", {"message": message}, status=400)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        from pawfile.lib.api import error_body

        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    """Rendered without context processors: whatever broke must not break this page too."""

    return HttpResponse(loader.get_template("500.html").render(), status=500)
