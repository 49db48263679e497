"""The instance admin's view of people and households: users, households, memberships,
invitations and access grants.

Read-only where a change has rules a service keeps (one owner per household, sessions that
must end, files that must go, a mail that was already sent); such changes are admin actions
that call the service. What may be edited in a form (a user's name and settings, a
household's name) is saved through the services too. Nothing is added here: accounts come
from sign-up or ``pawfile createadmin``, households with their owner, memberships from
invitations. The admin itself is for staff with two-factor authentication
(``accounts.middleware.AdminGuardMiddleware``), named after the site (``PAWFILE_SITE_NAME``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from pawfile.accounts import invitations, services
from pawfile.accounts.models import Grant, Household, Invitation, Membership, User
from pawfile.lib.errors import ServiceError
from pawfile.lib.sitename import site_current

admin.site.site_header = site_current().name
admin.site.site_title = site_current().name
admin.site.index_title = _("Administration")


def _done(modeladmin: admin.ModelAdmin, request: HttpRequest, count: int, text: str) -> None:
    modeladmin.message_user(
        request, text % {"count": count}, messages.SUCCESS if count else messages.WARNING
    )


class NoAddAdmin(admin.ModelAdmin):
    """Rows come from the app's own flows, never from an admin form."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MembershipOfUserInline(admin.TabularInline):
    """A user's households and their role in each."""

    model = Membership
    fk_name = "user"
    extra = 0
    fields = ("household", "role", "joined_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("households and roles")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class MembershipOfHouseholdInline(MembershipOfUserInline):
    """A household's members and their roles."""

    fk_name = "household"
    fields = ("user", "role", "joined_at")
    readonly_fields = fields
    verbose_name_plural = _("members")


@admin.register(User)
class UserAdmin(NoAddAdmin):
    list_display = ("email", "name", "is_active", "is_staff", "households", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser", "locale", "date_joined")
    search_fields = ("email", "name", "phone")
    ordering = ("-date_joined",)
    date_hierarchy = "date_joined"
    fields = (
        "email",
        "name",
        "phone",
        "timezone",
        "locale",
        "theme",
        "is_active",
        "is_staff",
        "is_superuser",
        "date_joined",
        "last_login",
    )
    # The address is changed by its owner (confirmed by mail); staff, superuser and active
    # change through actions or the command line; a password is never seen here.
    readonly_fields = (
        "email",
        "is_active",
        "is_staff",
        "is_superuser",
        "date_joined",
        "last_login",
    )
    inlines = [MembershipOfUserInline]
    actions = ["deactivate", "reactivate", "sessions_end"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).annotate(household_count=Count("memberships"))

    @admin.display(description=_("households"), ordering="household_count")
    def households(self, user: User) -> int:
        return int(getattr(user, "household_count", 0))

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Deleting an account also deletes its households' pets, files and exports: the
        # person does it from "Your data", which runs every app's part of it.
        return False

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        fields = ("name", "phone", "timezone", "locale", "theme")
        original = User.objects.get(pk=obj.pk)
        values = {name: form.cleaned_data[name] for name in fields if name in form.cleaned_data}
        for name in values:
            setattr(obj, name, getattr(original, name))
        try:
            services.user_preferences_update(user=obj, **values)
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    @admin.action(
        description=_("Turn off the selected accounts (ends their sessions)"),
        permissions=["change"],
    )
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = [user for user in queryset if user.is_active and user.pk != request.user.pk]
        for user in users:
            services.user_active_set(user=user, active=False)
        text = ngettext(
            "%(count)d account was turned off.", "%(count)d accounts were turned off.", len(users)
        )
        _done(self, request, len(users), text)

    @admin.action(description=_("Turn the selected accounts back on"), permissions=["change"])
    def reactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = [user for user in queryset if not user.is_active]
        for user in users:
            services.user_active_set(user=user, active=True)
        text = ngettext(
            "%(count)d account was turned on.", "%(count)d accounts were turned on.", len(users)
        )
        _done(self, request, len(users), text)

    @admin.action(
        description=_("End every session and API token of the selected accounts"),
        permissions=["change"],
    )
    def sessions_end(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        ended = sum(services.user_sessions_end(user=user) for user in queryset)
        text = ngettext("%(count)d session was ended.", "%(count)d sessions were ended.", ended)
        _done(self, request, ended, text)


@admin.register(Household)
class HouseholdAdmin(NoAddAdmin):
    list_display = ("name", "member_count", "created_at")
    search_fields = ("name", "memberships__user__email", "memberships__user__name")
    list_filter = ("created_at",)
    date_hierarchy = "created_at"
    fields = ("name", "created_at")
    readonly_fields = ("created_at",)
    # Apps above accounts add theirs (the pets app adds the household's pets).
    inlines = [MembershipOfHouseholdInline]
    actions = ["delete_with_everything"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Household]:
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, household: Household) -> int:
        return int(getattr(household, "member_count", 0))

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Django's delete would leave the pets' stored files behind: the action deletes.
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not request.user.has_perm("accounts.delete_household"):
            actions.pop("delete_with_everything", None)
        return actions

    def save_model(
        self, request: HttpRequest, obj: Household, form: ModelForm, change: bool
    ) -> None:
        try:
            services.household_name_set(household=obj, name=form.cleaned_data["name"])
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    @admin.action(description=_("Delete the selected households with their pets and files"))
    def delete_with_everything(self, request: HttpRequest, queryset: QuerySet[Household]) -> None:
        count = 0
        for household in queryset:
            services.household_delete(household=household)
            count += 1
        text = ngettext(
            "%(count)d household was deleted.", "%(count)d households were deleted.", count
        )
        _done(self, request, count, text)


@admin.register(Membership)
class MembershipAdmin(NoAddAdmin):
    list_display = ("user", "household", "role", "joined_at")
    list_filter = ("role", "joined_at")
    search_fields = ("user__email", "user__name", "household__name")
    list_select_related = ("user", "household")
    fields = ("user", "household", "role", "joined_at")
    readonly_fields = fields
    actions = ["make_owner"]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # members leave or are removed by the owner, in the app

    @admin.action(
        description=_("Make the selected members the owners of their households"),
        permissions=["change"],
    )
    def make_owner(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        chosen: dict[int, Membership] = {}
        for membership in queryset.order_by("pk"):
            chosen[membership.household_id] = membership  # one owner per household
        for membership in chosen.values():
            services.household_owner_set(membership=membership)
        text = ngettext(
            "%(count)d household has a new owner.", "%(count)d households have a new owner.",
            len(chosen),
        )  # fmt: skip
        _done(self, request, len(chosen), text)


@admin.register(Invitation)
class InvitationAdmin(NoAddAdmin):
    list_display = ("email", "household", "role", "status", "invited_by", "created_at")
    list_filter = ("status", "role", "created_at")
    search_fields = ("email", "household__name", "invited_by__email")
    list_select_related = ("household", "invited_by")
    date_hierarchy = "created_at"
    fields = (
        "email",
        "household",
        "role",
        "status",
        "invited_by",
        "accepted_by",
        "created_at",
        "expires_at",
    )
    readonly_fields = fields
    actions = ["withdraw"]

    @admin.action(description=_("Withdraw the selected invitations"), permissions=["change"])
    def withdraw(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        count = sum(invitations.invitation_withdraw(invitation=item) for item in queryset)
        text = ngettext(
            "%(count)d invitation was withdrawn.", "%(count)d invitations were withdrawn.", count
        )
        _done(self, request, count, text)


@admin.register(Grant)
class GrantAdmin(NoAddAdmin):
    list_display = ("user", "household", "pet_id", "actions", "starts_at", "ends_at", "source")
    list_filter = ("starts_at", "ends_at")
    search_fields = ("user__email", "household__name", "source")
    list_select_related = ("user", "household")
    fields = ("user", "household", "pet_id", "actions", "starts_at", "ends_at", "source")
    readonly_fields = fields

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # the app that gave a grant ends it (``grants_end``)
