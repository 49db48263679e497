"""A person's own date (``pawfile.lib.dates``) and where their zone is active.

At 10:30 UTC on 10 March 2027 it is already 11 March in Kiritimati (UTC+14) and still 9 March
in Pago Pago (UTC−11). A signed-in person's zone is active for their web pages and their API
calls (bearer or session), and for nobody else's: it ends with the request, even one that
fails, so the next request on the same thread starts from the site's zone (UTC).
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from pawfile.lib.dates import user_today, user_zone_override, zone_for
from tests.api.conftest import access_token
from tests.conftest import Cast

INSTANT = dt.datetime(2027, 3, 10, 10, 30, tzinfo=dt.UTC)
KIRITIMATI, PAGO_PAGO = "Pacific/Kiritimati", "Pacific/Pago_Pago"


@pytest.fixture
def frozen():
    with time_machine.travel(INSTANT, tick=False):
        yield


@pytest.fixture
def zoned(cast: Cast, frozen) -> Cast:
    """alice lives in Kiritimati, carol in Pago Pago; bob keeps UTC."""
    for user, zone in ((cast.alice, KIRITIMATI), (cast.carol, PAGO_PAGO)):
        user.timezone = zone
        user.save(update_fields=["timezone"])
    return cast


def test_each_person_has_their_own_date(zoned: Cast) -> None:
    assert user_today(zoned.alice) == dt.date(2027, 3, 11)
    assert user_today(zoned.carol) == dt.date(2027, 3, 9)
    assert user_today(zoned.bob) == dt.date(2027, 3, 10)
    assert user_today(AnonymousUser()) == dt.date(2027, 3, 10)
    later = INSTANT + dt.timedelta(hours=1)  # midnight passes in Pago Pago
    assert user_today(zoned.carol, now=later) == dt.date(2027, 3, 10)


@pytest.mark.parametrize("name", ["", "Mars/Olympus", "../../etc/passwd", "UTC\x00", "Europe"])
def test_a_name_that_is_not_a_zone_counts_as_the_sites(name: str) -> None:
    assert zone_for(name) == timezone.get_default_timezone()


def test_a_task_acting_for_someone_takes_their_zone_and_gives_it_back(zoned: Cast) -> None:
    with user_zone_override(zoned.alice):
        assert timezone.localdate() == dt.date(2027, 3, 11)
        with user_zone_override(zoned.carol):
            assert timezone.localdate() == dt.date(2027, 3, 9)
        assert timezone.get_current_timezone_name() == KIRITIMATI
    assert timezone.get_current_timezone_name() == "UTC"


@pytest.mark.urls("tests.lib.zone_urls")
@pytest.mark.parametrize(("who", "zone", "today"), [
    ("alice", KIRITIMATI, "2027-03-11"), ("carol", PAGO_PAGO, "2027-03-09"),
    ("bob", "UTC", "2027-03-10"), (None, "UTC", "2027-03-10"),
])  # fmt: skip
def test_web_pages_run_in_the_signed_in_persons_zone(
    zoned: Cast, who: str | None, zone: str, today: str
) -> None:
    timezone.activate(zone_for(PAGO_PAGO))  # a zone left over on this thread is not kept
    response = zoned.client_for(who).get("/zone-probe/")
    assert response.json() == {"zone": zone, "today": today}
    assert timezone.get_current_timezone_name() == "UTC"


@pytest.mark.urls("tests.lib.zone_urls")
@pytest.mark.parametrize(("who", "zone"), [("alice", KIRITIMATI), ("carol", PAGO_PAGO)])
def test_api_calls_run_in_the_callers_zone(zoned: Cast, who: str, zone: str) -> None:
    user = getattr(zoned, who)
    bearer = Client().get(
        "/api/v1/zone-probe/zone", HTTP_AUTHORIZATION=f"Bearer {access_token(user.email)}"
    )
    assert not hasattr(bearer.wsgi_request, "session")  # the short path, past the middleware
    assert bearer.json()["zone"] == zone
    assert timezone.get_current_timezone_name() == "UTC"
    with_cookie = Client().get(
        "/api/v1/zone-probe/zone", HTTP_AUTHORIZATION=f"Bearer {access_token(user.email)}",
        HTTP_COOKIE="theme=dark",
    )  # fmt: skip
    assert hasattr(with_cookie.wsgi_request, "session")  # the whole chain this time
    assert with_cookie.json()["zone"] == zone
    assert timezone.get_current_timezone_name() == "UTC"
    session = zoned.client_for(who).get("/api/v1/zone-probe/zone")
    assert session.json()["zone"] == zone
    assert timezone.get_current_timezone_name() == "UTC"


@pytest.mark.urls("tests.lib.zone_urls")
def test_a_failing_request_leaks_no_zone(zoned: Cast) -> None:
    token = access_token(zoned.alice.email)
    bearer = Client(raise_request_exception=False).get(
        "/api/v1/zone-probe/zone-failing", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert bearer.status_code == 500
    assert timezone.get_current_timezone_name() == "UTC"
    web = zoned.client_for("alice")
    web.raise_request_exception = False
    assert web.get("/zone-probe/failing/").status_code == 500
    assert timezone.get_current_timezone_name() == "UTC"
