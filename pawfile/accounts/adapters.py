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
from pawfile.lib.sitename import site_current
from pawfile.lib.text import plain_line

# allauth's mail to an address that has no account (``ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS``).
UNKNOWN_ACCOUNT = "account/email/unknown_account"


class AccountAdapter(DefaultAccountAdapter):
    """Gives every new account a household and ends every session on a password change."""

    def save_user(
        self, request: HttpRequest, user: AbstractBaseUser, form: Any, commit: bool = True
    ) -> AbstractBaseUser:
        """Save the new account with the name given at sign-up (optional) and the browser's
        time zone, then make its household, named after that name in the request's language."""
        cleaned = getattr(form, "cleaned_data", None) or {}
        name = cleaned.get("name")
        if isinstance(user, User) and isinstance(name, str) and name.strip():
            user.name = plain_line(name.strip(), field="name")[:150]
        zone = cleaned.get("timezone")
        if isinstance(user, User) and isinstance(zone, str) and zone:
            user.timezone = zone  # the browser's, checked by SignupForm.clean_timezone
        user = super().save_user(request, user, form, commit=commit)
        if commit and isinstance(user, User):
            services.household_ensure_for_user(user=user)
        return user

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render now (in the request's language), write it to the outbox, send from a worker.

        Sending in the request would make a reset for a known address slower than for an
        unknown one, telling an observer which addresses have accounts. The outbox row holds
        the links; the task queue gets only its id, and the text is dropped once sent. The
        site is named by ``PAWFILE_SITE_NAME`` at the base URL's host (``current_site``),
        not by whatever host the request came to. allauth's "unknown account" mail is never
        sent: see ``_unknown_account``.
        """
        from pawfile.outbox.mail import mail_enqueue

        context = {"email": email, **context, "current_site": site_current()}
        if template_prefix == UNKNOWN_ACCOUNT:
            self._unknown_account(email, context)
            return
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

    def _unknown_account(self, email: str, context: dict[str, Any]) -> None:
        """Do for an address with no account what a password reset does for a known one,
        and send nothing: make a reset token (for a stand-in user), render the reset mail,
        write an outbox row of the same size and enqueue its id (``mail_withheld_enqueue``).

        A reset request then takes the same time whether the address has an account or not
        (``ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS`` is on only so that allauth calls here). No mail
        goes to the address: telling a stranger's inbox "someone asked for a reset" would
        make the form a way to send mail to anyone.
        """
        from allauth.account.models import EmailAddress
        from allauth.account.utils import user_pk_to_url_str
        from django.contrib.auth.tokens import PasswordResetTokenGenerator

        from pawfile.outbox.mail import mail_withheld_enqueue

        stand_in = User(pk=0, email=email)
        # allauth's token for a real user reads its addresses twice (and would create one
        # for the stand-in); looking for an unknown address already cost allauth one query
        # more than a known one (users by email, after no address row matched): one read
        # here keeps the count equal (six statements each). Then the token, Django's way.
        list(EmailAddress.objects.filter(user_id=stand_in.pk).values_list("email", flat=True))
        token = PasswordResetTokenGenerator().make_token(stand_in)
        url = self.get_reset_password_from_key_url(f"{user_pk_to_url_str(stand_in)}-{token}")
        context = {**context, "user": stand_in, "password_reset_url": url}
        message = self.render_mail("account/email/password_reset_key", email, context)
        mail_withheld_enqueue(
            key=f"account:unknown_account:{uuid.uuid4().hex}",
            subject=str(message.subject),
            body=str(message.body),
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
