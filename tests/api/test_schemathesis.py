"""Property-based testing of the whole ``/api/v1`` schema with Schemathesis, over WSGI.

Every operation is called with generated valid and invalid data, as alice (JWT), on a real
database holding her household (Rex with a note, a contact, a photo, records, an attachment).
Path ids are pointed at her real rows so the handlers run past the access checks. Checks:
no server error, responses match the documented schemas, invalid data is refused with 4xx.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.signals import request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from pawfile.config.wsgi import application
from pawfile.lib.api import MAX_ID
from tests.api.conftest import World, access_token

# The schema comes from the app itself; nothing goes over the network.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.negative_data_rejection,
]


@pytest.fixture
def alice_world(world: World, settings_override: None) -> tuple[World, str]:
    return world, access_token(world.cast.alice.email)


@pytest.fixture
def settings_override(settings: Any) -> None:
    # Hundreds of requests per operation: the API limits are not what is tested here.
    settings.PAWFILE_API_RATELIMIT_USER = "100000/60"
    settings.PAWFILE_API_RATELIMIT_IP = "100000/60"


@pytest.fixture
def wsgi_in_test_transaction():
    """Keep the test's database connection open across WSGI requests.

    Django closes "old" connections when a request starts; inside the test transaction
    that would drop the data the test set up. Django's test client does the same.
    """
    request_started.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)


def real_ids(case: schemathesis.Case, ids: dict[str, int]) -> None:
    """Point valid generated ids at alice's rows (invalid ones stay, to test refusals)."""
    for name, value in list((case.path_parameters or {}).items()):
        if name in ids and isinstance(value, int) and 1 <= value <= MAX_ID:
            case.path_parameters[name] = ids[name]


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_api_schema(
    case: schemathesis.Case, alice_world: tuple[World, str], wsgi_in_test_transaction: None
) -> None:
    world, token = alice_world
    real_ids(case, world.ids)
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
