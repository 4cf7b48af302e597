"""Serving under load: requests per second and latency of `GET /api/v1/serve/{placement}`
under gunicorn on 127.0.0.1, beside a bare DRF endpoint returning a constant on the same
server in the same run.

Run: `python -m bench.serving`. The load generator is asyncio over keep-alive HTTP/1.1
connections, bounded in time; it shares the 2 cores with gunicorn, the same for both
endpoints. Serving reads statistics from the cache (Redis when it answers, as in
production), never from raw events.
"""

import asyncio
import collections
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKDIR = Path(tempfile.mkdtemp(prefix="bench-serving-"))
PORT = 18765
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
CONNECTIONS = 16


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


ENV = {
    "DJANGO_SETTINGS_MODULE": "creativeadmin.settings",
    "DATABASE_URL": f"sqlite:///{WORKDIR / 'db.sqlite3'}",
    "MEDIA_ROOT": str(WORKDIR / "media"),
    "DEBUG": "false",
    "SECRET_KEY": "bench-" + "x" * 60,
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "PLACEMENT_RATE": "100000000/min",  # the throttle still runs (a cache hit per request); it never refuses here
    "CACHE_URL": "redis://127.0.0.1:6379/5" if _redis_up() else "locmemcache://",
}
ENV_DROP = ("CELERY_BROKER_URL",)


def _seed() -> tuple[int, str, int]:
    """A live campaign with 12 approved creatives on one placement; returns (placement id, key, creatives)."""
    os.environ.update(ENV)
    for name in ENV_DROP:
        os.environ.pop(name, None)
    import django

    django.setup()
    import json
    from decimal import Decimal

    from django.core.cache import cache
    from django.core.management import call_command

    from campaigns.models import AdCopySet, Campaign, Creative, Placement, Product
    from campaigns.serving import creative_stats_cache_set, placement_key_issue
    from templates_app.services import template_create

    call_command("migrate", verbosity=0)
    cache.clear()
    spec = json.loads((Path(__file__).resolve().parents[1] / "synthesis/templates/single-hero.json").read_text())
    version = template_create(name="bench-hero", spec=spec).current_version
    placement = Placement.objects.create(name="bench", channel="dsp", sizes=[[300, 250]])
    copy = AdCopySet.objects.create(name="bench", titles=["t"])
    campaign = Campaign.objects.create(name="bench", copy=copy, status=Campaign.Status.LIVE)
    campaign.placements.add(placement)
    creatives = []
    for i in range(12):
        product = Product.objects.create(sku=f"B-{i}", title="p", price=Decimal("9"), main_image=f"products/{i}.jpg")
        campaign.products.add(product)
        creatives.append(
            Creative.objects.create(
                campaign=campaign, product_key=product.sku, template_version=version, width=300, height=250,
                variant=0, file=f"creatives/{i}.jpg", content_hash="0" * 64, aesthetic_score=60 + i,
                state=Creative.State.APPROVED,
            )
        )  # fmt: skip
    creative_stats_cache_set(
        campaign_id=campaign.pk, stats={c.pk: (1000 + 10 * i, 20 + i) for i, c in enumerate(creatives)}
    )
    return placement.pk, placement_key_issue(placement=placement), len(creatives)


async def _connection(request, deadline: float, latencies: list, statuses: collections.Counter, schedule=None) -> None:
    """Send `request` (bytes, or a callable returning each request's bytes) until the deadline.

    `schedule`, an iterator of `perf_counter` times shared by all connections, makes the load an
    offered rate (each free connection sends the next request when it is due) and latency counts
    from when a request was due, so a stall shows in every request it delays. A request whose
    connection fails is counted under status 0 and the connection opened again.
    """
    reader = writer = None
    try:
        while time.perf_counter() < deadline:
            if schedule is None:
                started = time.perf_counter()
            else:
                started = next(schedule)
                if started >= deadline:
                    break
                await asyncio.sleep(started - time.perf_counter())
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
                writer.write(request() if callable(request) else request)
                await writer.drain()
                status = int((await reader.readline()).split()[1])
                length, close = 0, False
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                    elif name.lower() == "connection" and value.strip().lower() == "close":
                        close = True
                await reader.readexactly(length)
            except (OSError, IndexError, ValueError, asyncio.IncompleteReadError):
                status, close = 0, True
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            if close and writer is not None:
                writer.close()
                writer = None
    finally:
        if writer is not None:
            writer.close()


async def _load(path: str, headers: dict, seconds: float) -> dict:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    statuses: collections.Counter = collections.Counter()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(_connection(request, deadline, latencies, statuses) for _ in range(CONNECTIONS)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
        "statuses": dict(statuses),
    }


def main() -> None:
    placement_id, key, n = _seed()
    env = {k: v for k, v in os.environ.items() if k not in ENV_DROP}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "bench.serving_site:application", "--bind", f"127.0.0.1:{PORT}",
         "--workers", "2", "--worker-class", "gthread", "--threads", "4", "--keep-alive", "30",
         "--log-level", "warning"],
        cwd=Path(__file__).resolve().parents[1], env=env, start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", PORT), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        serve = (f"/api/v1/serve/{placement_id}?size=300x250", {"X-Placement-Key": key})
        bare = ("/bench/bare", {})
        for path, headers in (bare, serve):
            asyncio.run(_load(path, headers, 1.5))  # warm-up: imports, connections, caches
        results = {}
        for label, (path, headers) in (("bare DRF endpoint", bare), ("serve endpoint", serve)):
            results[label] = asyncio.run(_load(path, headers, SECONDS))
    finally:
        server.terminate()
        server.wait(timeout=20)
    cache = ENV["CACHE_URL"].split(":")[0]
    print(f"Serving under load: gunicorn (2 gthread workers x 4 threads) on 127.0.0.1, {CONNECTIONS} keep-alive")
    print(f"connections from an asyncio client, {SECONDS:g} s per endpoint; {n} approved creatives; cache: {cache}")
    for label, r in results.items():
        rates = f"{r['rps']:7.0f} req/s, p50 {r['p50']:5.1f} ms, p99 {r['p99']:5.1f} ms"
        print(f"  {label:18}: {rates}, statuses {r['statuses']}")
    ratio = results["serve endpoint"]["rps"] / results["bare DRF endpoint"]["rps"]
    print(f"  serve / bare throughput: {ratio:.0%} (aim >= 60%); serve p99 aim <= 25 ms")


if __name__ == "__main__":
    main()
