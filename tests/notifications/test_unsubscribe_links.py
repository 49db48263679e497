"""The unsubscribe address put together from a stand-in (``unsubscribe._path``) is the one
``reverse`` gives, for tokens of every kind; a token ``reverse`` would change is reversed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from pawfile.notifications import unsubscribe


@pytest.mark.parametrize("kind", ["reminder", "*", "pet_update", "ñ" * 40])
@pytest.mark.parametrize("user_id", [1, 987654321])
def test_the_address_is_reverses(kind: str, user_id: int) -> None:
    token = unsubscribe.token_make(user_id=user_id, kind=kind)
    assert unsubscribe._path(token) == reverse("notification_unsubscribe", kwargs={"token": token})
    assert unsubscribe.token_read(unsubscribe._path(token).rstrip("/").rpartition("/")[2]) == (
        user_id,
        kind,
    )


def test_a_token_reverse_would_quote_is_reversed() -> None:
    odd = "a b%c"
    assert unsubscribe._path(odd) == reverse("notification_unsubscribe", kwargs={"token": odd})
    assert "%20" in unsubscribe._path(odd)
