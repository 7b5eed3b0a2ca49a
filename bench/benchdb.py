"""What the page benchmarks share before Django starts: their own database, and the p95 they print
(``bench/dashboard.py``, ``bench/desk.py``)."""

from __future__ import annotations

import statistics
from urllib.parse import urlsplit


def database(url: str, *, fresh: bool) -> None:
    """Drop and create the bench's own database (never one whose name lacks "bench")."""
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"Refusing to drop {name!r}: the bench database's name must contain 'bench'.")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not exists or fresh:
            conn.execute(f'CREATE DATABASE "{name}"')


def p95(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=20, method="inclusive")[18]
