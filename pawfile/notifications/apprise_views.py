"""Pages of a person's Apprise targets: list (masked), add, send a test, delete.

Targets are per person: another person's target id is 404. Every change is a POST."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from pawfile.accounts.models import User
from pawfile.lib.errors import NotFound
from pawfile.lib.webforms import service_refusals
from pawfile.notifications.channels import apprise


class AppriseTargetForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("Apprise URL"),
        max_length=2000,
        widget=forms.TextInput(
            attrs={"placeholder": "ntfy://ntfy.sh/my-topic", "autocomplete": "off"}
        ),
        help_text=gettext_lazy(
            "Any address Apprise understands: ntfy://, tgram://, matrix://, discord://, "
            "json://... It is stored encrypted; only its service and host are shown."
        ),
    )
    label = forms.CharField(label=gettext_lazy("Name (optional)"), max_length=80, required=False)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@login_required
@require_http_methods(["GET", "POST"])
def apprise_targets(request: HttpRequest) -> HttpResponse:
    """The list of the person's targets and the form that adds one."""
    user = _user(request)
    status = 200
    if request.method == "POST":
        if not settings.APPRISE_ENABLED:
            raise NotFound()
        form = AppriseTargetForm(request.POST)
        if form.is_valid():
            with service_refusals(request, form=form) as outcome:
                apprise.apprise_target_add(
                    user=user, url=form.cleaned_data["url"], label=form.cleaned_data["label"]
                )
            if outcome.ok:
                messages.success(request, _("Apprise address added."))
                return redirect("apprise_targets")
        status = 400
    else:
        form = AppriseTargetForm()
    return render(
        request,
        "notifications/apprise.html",
        {
            "form": form,
            "targets": apprise.targets_of(user),
            "enabled": settings.APPRISE_ENABLED,
        },
        status=status,
    )


@login_required
@require_POST
def apprise_target_test(request: HttpRequest, target_id: int) -> HttpResponse:
    """Send a test message now and say how it went."""
    if not settings.APPRISE_ENABLED:
        raise NotFound()
    outcome = apprise.apprise_target_test(user=_user(request), target_id=target_id)
    if outcome.ok:
        messages.success(request, _("Test sent. Check that it arrived."))
    elif outcome.permanent:
        messages.error(
            request,
            _("This address can no longer be used. Delete it and add it again."),
        )
    else:
        messages.error(
            request,
            _(
                "The service did not take the test message (it refused it, or did not "
                "answer in time). Check the address and try again."
            ),
        )
    return redirect("apprise_targets")


@login_required
@require_POST
def apprise_target_delete(request: HttpRequest, target_id: int) -> HttpResponse:
    apprise.apprise_target_delete(user=_user(request), target_id=target_id)
    messages.success(request, _("Apprise address removed."))
    return redirect("apprise_targets")
