"""``{% unread_notifications as count %}``: the bell's count for the signed-in user."""

from __future__ import annotations

from django import template

from pawfile.accounts.models import User
from pawfile.notifications import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context: template.Context) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    if not isinstance(user, User):
        return 0
    return selectors.unread_count(user=user)
