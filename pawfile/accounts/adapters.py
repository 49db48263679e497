"""allauth adapters: where signup, login and password changes meet Pawfile's services."""

from __future__ import annotations

import uuid
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from pawfile.accounts import services
from pawfile.accounts.models import User
from pawfile.lib.clientip import client_ip


class AccountAdapter(DefaultAccountAdapter):
    """Gives every new account a household and ends every session on a password change."""

    def save_user(
        self, request: HttpRequest, user: AbstractBaseUser, form: Any, commit: bool = True
    ) -> AbstractBaseUser:
        user = super().save_user(request, user, form, commit=commit)
        if commit and isinstance(user, User):
            services.household_ensure_for_user(user=user)
        return user

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render now (in the request's language), write it to the outbox, send from a worker.

        Sending in the request would make a reset for a known address slower than for an
        unknown one, telling an observer which addresses have accounts. The outbox row holds
        the links; the task queue gets only its id, and the text is dropped once sent.
        """
        from pawfile.outbox.mail import mail_enqueue

        message = self.render_mail(template_prefix, email, context)
        html = next(
            (body for body, mime in getattr(message, "alternatives", []) if mime == "text/html"),
            None,
        )
        mail_enqueue(
            key=f"account:{template_prefix.rsplit('/', 1)[-1]}:{uuid.uuid4().hex}",
            to=list(message.to),
            subject=str(message.subject),
            body=str(message.body),
            html=html,
            from_email=message.from_email,
            sensitive=True,
        )

    def get_client_ip(self, request: HttpRequest) -> str:
        return client_ip(request)

    def set_password(self, user: AbstractBaseUser, password: str) -> None:
        super().set_password(user, password)
        if isinstance(user, User):
            services.user_sessions_end(user=user)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """A first login with Google/OIDC creates the account and its household."""

    def save_user(self, request: HttpRequest, sociallogin: Any, form: Any = None) -> Any:
        user = super().save_user(request, sociallogin, form=form)
        if isinstance(user, User):
            services.household_ensure_for_user(user=user)
        return user
