"""Requests/s of the scale-out rehearsal (``deploy/`` behind nginx) with 1, 2 and 3 web nodes.

    .venv/bin/python bench/rehearsal.py [--nodes 1 --nodes 2 --nodes 3] [--duration 8]

For each node count, starts the whole site from ``deploy/`` as ``tests/rehearsal.py`` does
(nginx over TLS, the nodes, two workers and the scheduler on PostgreSQL + Redis + a local S3
server) and loads it through nginx with wrk: the API's list of 20 pets (GET) and adding a
health record (POST), with a bearer token. Prints a table: nodes, endpoint, req/s, p50, p99,
non-2xx answers, and the ratio to one node. On a two-core machine nginx, wrk, PostgreSQL and
every node share the same two cores: the gain stops as soon as the nodes together use both.

Needs wrk, nginx, PostgreSQL (``--postgres``) and Redis (``--redis``). Not part of the product.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.rehearsal import site_up  # noqa: E402

UNLIMITED = {
    "PAWFILE_API_RATELIMIT_USER": "100000000/60",
    "PAWFILE_API_RATELIMIT_IP": "100000000/60",
}
LUA_POST = """
wrk.method = "POST"
wrk.body = '{"kind": "vaccination", "name": "Bench", "date": "2026-11-01"}'
wrk.headers["Content-Type"] = "application/json"
"""


def wrk(url: str, token: str, *, duration: int, connections: int, lua: Path | None) -> dict:
    command = [
        "wrk", "--latency", "-t2", f"-c{connections}", f"-d{duration}s",
        "-H", f"Authorization: Bearer {token}", url,
    ]  # fmt: skip
    if lua is not None:
        command[1:1] = ["-s", str(lua)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(p: str) -> float:
        match = re.search(rf"{p}%\s+([\d.]+)(us|ms|s)", out)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.+)", out)
    return {
        "rps": rate,
        "p50": latency("50"),
        "p99": latency("99"),
        "non2xx": int(bad.group(1)) if bad else 0,
        "errors": errors.group(1) if errors else "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, action="append")
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="pawfile-rehearsal-") as tmp:
        lua = Path(tmp) / "post.lua"
        lua.write_text(LUA_POST)
        for nodes in args.nodes or [1, 2, 3]:
            folder = Path(tmp) / f"site-{nodes}"
            folder.mkdir()
            print(f"[{nodes} node(s)] starting the site...", file=sys.stderr, flush=True)
            with site_up(
                folder,
                database_url=args.postgres,
                redis_url=args.redis,
                nodes=nodes,
                extra_env=UNLIMITED,  # one token makes every request: no per-user API limit
            ) as site:
                endpoints = [
                    ("list 20 pets", f"{site.url}/api/v1/pets?limit=20", None),
                    ("add a record", f"{site.url}/api/v1/pets/{site.pet_ids[0]}/records", lua),
                ]
                for name, url, script in endpoints:
                    wrk(url, site.token, duration=2, connections=args.connections, lua=script)
                    result = wrk(
                        url, site.token, duration=args.duration,
                        connections=args.connections, lua=script,
                    )  # fmt: skip
                    rows.append({"nodes": nodes, "endpoint": name, **result})
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    base = {r["endpoint"]: r["rps"] for r in rows if r["nodes"] == min(x["nodes"] for x in rows)}
    print("| nodes | endpoint | req/s | p50 ms | p99 ms | non-2xx | vs fewest nodes |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = r["rps"] / base[r["endpoint"]] if base.get(r["endpoint"]) else float("nan")
        print(
            f"| {r['nodes']} | {r['endpoint']} | {r['rps']:.0f} | {r['p50']:.1f} | "
            f"{r['p99']:.1f} | {r['non2xx']} | {ratio:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
