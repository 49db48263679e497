"""``/api/v1`` endpoints for health."""

from ninja import Router

router = Router(tags=["health"])
