"""``{% unread_notifications as count %}``: the bell's count for the signed-in user."""

from __future__ import annotations

from django import template

from pawfile.notifications import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context: template.Context) -> int:
    return selectors.bell_count(request=context.get("request"))
