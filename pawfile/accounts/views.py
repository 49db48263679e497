"""Web pages for accounts: landing, home, preferences, households, invitations, first admin.

Each view renders the full page, or only the fragment when HTMX asks (``HX-Request``).
A service's refusal comes back as a message (``pawfile.lib.webforms``); strangers get 404,
a role too low 403 (``pawfile.accounts.access``).
"""

from __future__ import annotations

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from pawfile.accounts import invitations, selectors, services
from pawfile.accounts.access import Action, access_of
from pawfile.accounts.choices import Role
from pawfile.accounts.firstadmin import setup_token_valid
from pawfile.accounts.forms import FirstAdminForm, InvitationForm, PreferencesForm, RoleForm
from pawfile.accounts.models import Household, User
from pawfile.lib import registry
from pawfile.lib.htmx import is_htmx
from pawfile.lib.webforms import Outcome, service_refusals


def _acting_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    # The feature cards come from the installed apps (registry), so nothing not yet built
    # or switched off is promised.
    cards = registry.cards_render(page="landing", request=request)
    return render(request, "accounts/landing.html", {"cards": cards})


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
            "top_cards": registry.cards_render(page="home_top", request=request),
            "cards": registry.cards_render(page="home", request=request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    user = _acting_user(request)
    form = PreferencesForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        with service_refusals(request, form=form) as outcome:
            services.user_preferences_update(user=user, **form.cleaned_data)
        if outcome.ok:
            messages.success(request, _("Your preferences were saved."))
            return _language_cookie_follow(redirect("preferences"), user.locale)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/preferences.html", {"form": form}, status=status)


def _language_cookie_follow(response: HttpResponse, locale: str) -> HttpResponse:
    """The language cookie set to the saved language, or removed for the browser's own."""
    if locale:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            locale,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            samesite="Lax",
            max_age=365 * 86400,
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response


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
        services.user_preferences_update(user=_acting_user(request), theme=theme)
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
        services.user_preferences_update(user=_acting_user(request), locale=language)
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
    access = access_of(household)
    context = {
        "household": household,
        "members": selectors.member_list(user=user, household=household),
        "invitations": selectors.invitation_list(user=user, household=household),
        "is_owner": access is not None and access.allows(Action.MANAGE),
        # The role of the last invitation stays chosen for the next one (``?role=``).
        "invite_form": InvitationForm(initial=_invite_initial(request)),
        "role_choices": [(Role.CARETAKER, Role.CARETAKER.label), (Role.VIEWER, Role.VIEWER.label)],
    }
    template = "accounts/_members.html" if is_htmx(request) else "accounts/household.html"
    return render(request, template, context)


def _invite_initial(request: HttpRequest) -> dict[str, str]:
    role = request.GET.get("role", "")
    return {"role": role} if role in (Role.CARETAKER, Role.VIEWER) else {}


def _back(request: HttpRequest, outcome: Outcome, household_id: int) -> HttpResponse:
    """Back to the household page, saying "Done." unless the service refused (its message
    is already there)."""
    if outcome.ok:
        messages.success(request, _("Done."))
    return redirect("household_detail", household_id=household_id)


@login_required
@require_POST
def household_rename(request: HttpRequest, household_id: int) -> HttpResponse:
    household = _household(request, household_id)
    with service_refusals(request) as outcome:
        services.household_rename(
            household=household, actor=_acting_user(request), name=request.POST.get("name", "")
        )
    return _back(request, outcome, household_id)


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
    with service_refusals(request) as outcome:
        invitation = invitations.invitation_create(
            household=household,
            actor=_acting_user(request),
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
        )
    if outcome.ok:
        messages.success(
            request,
            _("Invitation sent to %(email)s as %(role)s.")
            % {"email": invitation.email, "role": invitation.get_role_display().lower()},
        )
    target = reverse("household_detail", kwargs={"household_id": household_id})
    return redirect(f"{target}?{urlencode({'role': form.cleaned_data['role']})}#invite")


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, household_id: int, invitation_id: int) -> HttpResponse:
    household = _household(request, household_id)
    invitation = get_object_or_404(household.invitations, pk=invitation_id)
    with service_refusals(request) as outcome:
        invitations.invitation_revoke(invitation=invitation, actor=_acting_user(request))
    return _back(request, outcome, household_id)


def _member(household: Household, user_id: int) -> User:
    return get_object_or_404(get_user_model(), pk=user_id, memberships__household=household)


@login_required
@require_POST
def member_role(request: HttpRequest, household_id: int, user_id: int) -> HttpResponse:
    household = _household(request, household_id)
    form = RoleForm(request.POST)
    role = form.cleaned_data["role"] if form.is_valid() else ""
    with service_refusals(request) as outcome:
        services.membership_set_role(
            household=household,
            actor=_acting_user(request),
            member=_member(household, user_id),
            role=role,
        )
    return _back(request, outcome, household_id)


@login_required
@require_POST
def member_remove(request: HttpRequest, household_id: int, user_id: int) -> HttpResponse:
    household = _household(request, household_id)
    with service_refusals(request) as outcome:
        services.membership_remove(
            household=household, actor=_acting_user(request), member=_member(household, user_id)
        )
    return _back(request, outcome, household_id)


@login_required
@require_POST
def member_transfer(request: HttpRequest, household_id: int, user_id: int) -> HttpResponse:
    household = _household(request, household_id)
    with service_refusals(request) as outcome:
        services.household_transfer_ownership(
            household=household,
            actor=_acting_user(request),
            new_owner=_member(household, user_id),
        )
    return _back(request, outcome, household_id)


@login_required
@require_POST
def household_leave(request: HttpRequest, household_id: int) -> HttpResponse:
    household = _household(request, household_id)
    with service_refusals(request) as outcome:
        services.membership_leave(household=household, user=_acting_user(request))
    if outcome.ok:
        messages.success(request, _("Done."))
    return redirect("home")


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """Show the invitation; a signed-in user accepts it with a POST. A link that no longer
    works answers 410 with the reason (a message)."""
    with service_refusals(request) as opened:
        invitation = invitations.invitation_from_token(token)
    if not opened.ok:
        return render(request, "accounts/invitation.html", {"error": True}, status=410)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{settings.LOGIN_URL and '/accounts/login/'}?next={request.path}")
        with service_refusals(request) as outcome:
            membership = invitations.invitation_accept(token=token, user=_acting_user(request))
        if not outcome.ok:
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
        with service_refusals(request, form=form, rename={"password": "password1"}) as outcome:
            user = services.admin_create(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                name=form.cleaned_data.get("name", ""),
            )
        if outcome.ok:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request,
                _(
                    "Your admin account is ready. "
                    "Set up two-factor authentication to open the admin."
                ),
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
