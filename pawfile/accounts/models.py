"""People and households.

A ``User`` logs in with an email address. Every user belongs to at least one ``Household``
through a ``Membership`` that carries a role; pets and everything else hang on the household.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext_lazy as _

from pawfile.accounts.choices import InvitationStatus, Locale, Role, Theme


@cache
def zone_names() -> frozenset[str]:
    """Every IANA zone name this system knows. Read once per process: finding them walks
    the zone database on disk (tens of milliseconds), and it does not change while the
    process runs."""
    return frozenset(zoneinfo.available_timezones())


@cache
def _zone_names_folded() -> dict[str, str]:
    return {name.casefold(): name for name in zone_names()}


def zone_name_canonical(value: str) -> str | None:
    """The zone name ``value`` names, with its own capitals (``europe/madrid`` →
    ``Europe/Madrid``), or ``None`` when it names none."""
    return _zone_names_folded().get(value.casefold())


def validate_timezone(value: str) -> None:
    """Refuse anything that is not an IANA time zone name such as ``Europe/Madrid``."""
    if value not in zone_names():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class UserManager(BaseUserManager["User"]):
    """Creates users by email; the email is stored lower-cased."""

    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person with an account. Email is the login and is unique regardless of case."""

    email = models.EmailField(_("email address"), max_length=254, unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_timezone]
    )
    locale = models.CharField(
        _("language"), max_length=8, choices=Locale.choices, default=Locale.AUTO, blank=True
    )
    theme = models.CharField(_("theme"), max_length=8, choices=Theme.choices, default=Theme.AUTO)
    is_staff = models.BooleanField(_("staff"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("joined"), default=dj_timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        """What a greeting calls the person: the first word of their name, else the part of
        their email before the @ (as their household is named)."""
        return (self.name.split() or [self.email.split("@", 1)[0]])[0]


class Household(models.Model):
    """A group of people who look after the same pets."""

    name = models.CharField(_("name"), max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)

    members: models.ManyToManyField[User, Membership] = models.ManyToManyField(
        User, through="Membership", related_name="households"
    )

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's place in a household. Exactly one owner per household at any time."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        constraints = [
            models.UniqueConstraint(fields=["household", "user"], name="membership_unique"),
            models.UniqueConstraint(
                fields=["household"],
                condition=models.Q(role=Role.OWNER),
                name="membership_one_owner",
            ),
        ]
        ordering = ["joined_at", "id"]

    def __str__(self) -> str:
        return f"{self.user} in {self.household} ({self.role})"


class Invitation(models.Model):
    """An invitation by email to join a household; the link carries a signed, expiring token."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    status = models.CharField(
        max_length=16, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("invitation")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["household", "status"])]

    def __str__(self) -> str:
        return f"{self.email} → {self.household}"

    @property
    def is_open(self) -> bool:
        return self.status == InvitationStatus.PENDING and self.expires_at > dj_timezone.now()


class Grant(models.Model):
    """Time-limited access for someone who is not (or not only) a member of a household.

    Who: ``user``. What: the ``household``, or only the pet ``pet_id`` in it. Which actions:
    ``actions`` (comma-separated ``Action`` values; never delete or manage). When: from
    ``starts_at`` until ``ends_at``. Why: ``source`` names what gave it (``booking:123``), so
    the app that made it can end it. ``pawfile.accounts.access`` is the only reader.

    ``pet_id`` is a plain column, not a foreign key: accounts sits below pets and knows no
    pet model. Deleting a pet deletes its grants (``pets.services.pet_delete``); deleting a
    household or the user deletes them through the foreign keys.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="grants")
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="grants")
    pet_id = models.PositiveBigIntegerField(null=True, blank=True)
    actions = models.CharField(_("actions"), max_length=100)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    source = models.CharField(_("source"), max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("access grant")
        verbose_name_plural = _("access grants")
        indexes = [
            models.Index(fields=["user", "household"], name="grant_user_household"),
            models.Index(fields=["source"], name="grant_source"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="grant_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        scope = f"pet {self.pet_id}" if self.pet_id else "household"
        return f"{self.user_id}: {self.actions} on {scope} of {self.household_id} ({self.source})"
