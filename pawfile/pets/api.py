"""``/api/v1`` endpoints for pets."""

from ninja import Router

router = Router(tags=["pets"])
