"""``{% load reminders %}``: ``rule|repeat_text`` and ``minutes|lead_text``."""

from __future__ import annotations

from django import template

from pawfile.reminders import display

register = template.Library()


@register.filter
def repeat_text(rule: str) -> str:
    return display.rule_text(rule or "")


@register.filter
def lead_text(minutes: int) -> str:
    return display.lead_text(int(minutes or 0))
