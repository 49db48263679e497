"""The tables ``bench/api.py`` prints: the HTTP runs, the per-call counts, the comparisons.

Loaded by ``bench/api.py``; not part of the product.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wrkload import SHORTCUTS, Result

SCALEOUT_WITHIN = 0.30  # the scale-out figures stay within 30 % of the embedded ones


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(value: float) -> str:
    return f"{value:.2f}" if value >= 0.1 else f"{value:.4f}"


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]], left: set[int]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for n, row in enumerate([header, *rows]):
        cells = [c.ljust(widths[i]) if i in left else c.rjust(widths[i]) for i, c in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def table(results: Sequence[Result]) -> str:
    """The HTTP runs as a Markdown table, then any errors wrk reported."""
    bare = {r.endpoint.name: r.rps for r in results if r.server == "bare"}
    header = (
        "mode", "variant", "endpoint", "server", "req/s", "p50 ms", "p95 ms", "p99 ms",
        "ratio to bare", "server CPU", "req/s per server core", "PG+Redis CPU", "other CPU",
        "queries/req", "cache calls/req", "target",
    )  # fmt: skip
    rows = []
    for r in results:
        base = bare.get(r.endpoint.name)
        rows.append(
            (
                r.mode, r.variant, r.endpoint.name, f"{r.server} t={r.threads}", f"{r.rps:.0f}",
                f"{r.p50_ms:.2f}", f"{r.p95_ms:.2f}", f"{r.p99_ms:.2f}",
                _ratio(r.rps / base) if base else "-", _num(r.server_cores),
                _num(r.rps_per_core, 0), _num(r.services_cores), _num(r.other_cores),
                _num(r.queries, 1), _num(r.cache_calls, 1), r.verdict(),
            )
        )  # fmt: skip
    notes = [
        f"{r.mode} {r.variant} {r.server} t={r.threads} {r.endpoint.name}: {r.errors}"
        for r in results
        if r.errors
    ]
    text = _markdown(header, rows, {0, 1, 2, 3, 15})
    return "\n".join([text, "", *notes]) if notes else text


def counts_table(counts: Sequence[dict[str, Any]]) -> str:
    """What one call costs, counted in-process (``bench/roundtrips.py``), as a table."""
    header = (
        "mode", "variant", "endpoint", "queries", "db round trips", "cache calls",
        "app CPU ms", "PostgreSQL CPU ms", "median ms",
    )  # fmt: skip
    rows = [
        (
            c["mode"], c["variant"], c["endpoint"], _num(c["queries"], 1),
            _num(c["db_round_trips"], 1), _num(c["cache_calls"], 1), _num(c["cpu_ms"]),
            _num(c["db_cpu_ms"]), _num(c["wall_ms"]),
        )
        for c in counts
    ]  # fmt: skip
    return _markdown(header, rows, {0, 1, 2})


def _best(results: Sequence[Result]) -> dict[tuple[str, str, str], Result]:
    """The fastest real-server row per (mode, variant, endpoint)."""
    best: dict[tuple[str, str, str], Result] = {}
    for r in results:
        key = (r.mode, r.variant, r.endpoint.name)
        if r.server != "bare" and (key not in best or r.rps > best[key].rps):
            best[key] = r
    return best


def _with_services(r: Result) -> float | None:
    """req/s per core of the server plus PostgreSQL and Redis (embedded: the server alone)."""
    cores = (r.server_cores or 0) + (r.services_cores or 0)
    return r.rps / cores if r.server_cores else None


def comparison(results: Sequence[Result]) -> str:
    """Scale-out against embedded, and each variant against the shortcuts, in words."""
    best = _best(results)
    out = []
    for (mode, variant, name), r in best.items():
        if mode != "scale-out" or (e := best.get(("embedded", variant, name))) is None:
            continue
        parts = [f"req/s {_ratio(r.rps / e.rps)}"]
        if r.rps_per_core and e.rps_per_core:
            parts.append(f"per server core {_ratio(r.rps_per_core / e.rps_per_core)}")
        if (mine := _with_services(r)) and (theirs := _with_services(e)):
            parts.append(f"per core with PostgreSQL and Redis {_ratio(mine / theirs)}")
        within = r.rps >= (1 - SCALEOUT_WITHIN) * e.rps
        verdict = "within" if within else "NOT within"
        out.append(
            f"  scale-out / embedded, {variant}, {name}: {', '.join(parts)} "
            f"(req/s {verdict} {SCALEOUT_WITHIN:.0%})"
        )
    for (mode, variant, name), r in best.items():
        if variant == SHORTCUTS.name or (s := best.get((mode, SHORTCUTS.name, name))) is None:
            continue
        gain = s.rps / r.rps if r.rps else 0
        per_core = ""
        if r.rps_per_core and s.rps_per_core:
            per_core = f"; per server core {s.rps_per_core:.0f} against {r.rps_per_core:.0f}"
        out.append(
            f"  {mode}, {name}: with the shortcuts {s.rps:.0f} req/s, {variant} {r.rps:.0f} "
            f"(the shortcuts give {gain:.2f}x{per_core})"
        )
    return "\n".join(out)
