"""The "Your data" pages: ask for an export, download it once, delete the account.

The download is streamed by ``FileResponse`` from ``export.DeleteOnClose``: the archive is
removed from storage when the response is closed after streaming. Deleting the account needs
a recent re-authentication (allauth's ``reauthentication_required``: a stale session is sent
to re-enter its password or second factor first) and the email address typed out.
"""

from __future__ import annotations

from typing import Any

from allauth.account.decorators import reauthentication_required
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from pawfile.accounts.models import User
from pawfile.lib.htmx import is_htmx
from pawfile.privacy import deletion, export


def _acting_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@login_required
@require_GET
def data_index(request: HttpRequest) -> HttpResponse:
    """The "Your data" page (or, over HTMX, only its list of exports)."""
    context = {"exports": export.data_export_list(user=_acting_user(request))}
    template = "privacy/data/_exports.html" if is_htmx(request) else "privacy/data/index.html"
    return render(request, template, context)


@login_required
@require_POST
def data_export_request(request: HttpRequest) -> HttpResponse:
    try:
        export.data_export_request(
            user=_acting_user(request), language=translation.get_language() or ""
        )
    except export.ExportError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Your export is being prepared. We will email you a download link when it is ready."),
        )
    return redirect("data_index")


def _link_error(request: HttpRequest, *, status: int, text: str) -> HttpResponse:
    context = {"code": status, "text": text}
    return render(request, "privacy/data/link_error.html", context, status=status)


@login_required
@require_GET
def data_export_download(request: HttpRequest, token: str) -> HttpResponseBase:
    """Stream the archive once, to the user it was made for.

    Anyone else, and any forged or altered link, gets 404; a genuine link that expired or
    was already used gets 410 with a way to ask for a new export.
    """
    user = _acting_user(request)
    try:
        item = export.data_export_from_link(token=token, user=user)
    except Http404:
        return _link_error(request, status=404, text="")
    except export.ExportLinkGone as exc:
        return _link_error(request, status=410, text=str(exc))
    try:
        archive = export.data_export_take(export=item)
    except export.ExportLinkGone as exc:
        return _link_error(request, status=410, text=str(exc))
    day = timezone.localdate(item.created_at).isoformat()
    response = FileResponse(
        archive,
        as_attachment=True,
        filename=f"pawfile-export-{day}.zip",
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"
    return response


class AccountDeleteForm(forms.Form):
    """The person types their email address, so the button is never pressed by accident."""

    email = forms.CharField(
        label=gettext_lazy("Type your email address to confirm"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self) -> str:
        typed = str(self.cleaned_data["email"]).strip()
        if typed.lower() != self.user.email.lower():
            raise forms.ValidationError(
                _("That is not the email address of this account. Type %(email)s to confirm.")
                % {"email": self.user.email}
            )
        return typed


@login_required
@reauthentication_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    """Show what deleting the account does; delete it when the email is typed correctly."""
    user = _acting_user(request)
    form = AccountDeleteForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        deletion.account_delete(user=user)
        logout(request)
        messages.success(
            request,
            _("Your account and its data were deleted. We sent a confirmation to %(email)s.")
            % {"email": user.email},
        )
        return redirect("landing")
    context = {"form": form, "fates": deletion.account_delete_plan(user=user)}
    status = 400 if request.method == "POST" else 200
    return render(request, "privacy/data/delete.html", context, status=status)
