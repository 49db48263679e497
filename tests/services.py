"""Are PostgreSQL and Redis reachable for the second run of the suite?

Exit 0: both answer. Exit 75: one is missing and we are not in CI (the run is skipped, with a
line saying so). Exit 1: one is missing under ``CI=true`` — a failure, not a skip.
"""

from __future__ import annotations

import os
import socket
import sys
from urllib.parse import urlsplit

DEFAULTS = {
    "PostgreSQL": os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pawfile"),
    "Redis": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
}


def reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=2):
            return True
    except OSError:
        return False


def main() -> int:
    missing = [name for name, url in DEFAULTS.items() if not reachable(url)]
    if not missing:
        return 0
    what = " and ".join(missing)
    if os.environ.get("CI", "").lower() == "true":
        print(f"FAIL: {what} not reachable; CI=true requires the suite on PostgreSQL + Redis")
        return 1
    print(f"SKIPPED: the PostgreSQL + Redis run ({what} not reachable)")
    return 75


if __name__ == "__main__":
    sys.exit(main())
