"""Serving under load: requests per second and latency of `GET /api/v1/serve/{placement}`
under gunicorn on 127.0.0.1, beside a bare DRF endpoint returning a constant on the same
server in the same run.

Run: `python -m bench.serving`. The two endpoints take turns in BENCH_ROUNDS rounds (4; which goes
first alternates), and the ratios printed are the medians of the rounds': on a shared machine, load
from other processes that comes and goes during the run then weighs on both alike rather than on
whichever endpoint it happened to meet. Beside them, the server's CPU time per request (gunicorn's
processes, from /proc), which such load hardly changes. The load comes over keep-alive HTTP/1.1 connections, bounded
in time, from wrk when Debian's `wrk` is installed (`apt-get install wrk`), else from an
asyncio client in this process (`BENCH_LOAD=asyncio` forces it), which takes most of a core
from gunicorn on 2 cores; either way the same for both endpoints. Serving reads statistics
from the cache (Redis when it answers, as in production), never from raw events.
"""

import asyncio
import collections
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKDIR = Path(tempfile.mkdtemp(prefix="bench-serving-"))
PORT = 18765
SECONDS = float(os.environ.get("BENCH_SECONDS", "24"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))  # SECONDS per endpoint are split among them
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
# Two threads a worker: serving waits little on I/O, and each more thread holding the GIL adds a
# switch interval (5 ms) to some requests' wait: 4 threads measured p99 24-48 ms, 2 threads 11-14 ms.
THREADS = int(os.environ.get("BENCH_THREADS", "2"))


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


def request_bytes(method: str, path: str, headers: dict, body: bytes = b"") -> bytes:
    """One HTTP/1.1 request on a keep-alive connection to the bench server, as sent."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# wrk sends the prepared requests in turn (one Lua state: `-t1`) and reports its own counts and
# latency percentiles as JSON; `summary.requests` above the prepared count means some were sent twice.
_WRK_SCRIPT = """
local data = io.open(DATA, "rb"):read("*a")
local requests, pos = {}, 1
for n in io.lines(INDEX) do
  n = tonumber(n)
  requests[#requests + 1] = data:sub(pos, pos + n - 1)
  pos = pos + n
end
data = nil
local i = 0
request = function()
  i = i % #requests + 1
  return requests[i]
end
done = function(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "status": %d, "connect": %d,'
    .. ' "read": %d, "write": %d, "timeout": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status, e.connect,
    e.read, e.write, e.timeout))
end
"""


def _wrk(requests: list[bytes], connections: int, seconds: float, each_once: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="wrk-") as tmp:
        data, index, script = Path(tmp, "requests"), Path(tmp, "index"), Path(tmp, "script.lua")
        data.write_bytes(b"".join(requests))
        index.write_text("".join(f"{len(r)}\n" for r in requests))
        script.write_text(f"DATA = {str(data)!r}\nINDEX = {str(index)!r}\n{_WRK_SCRIPT}")
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script),
             f"http://127.0.0.1:{PORT}/"],
            capture_output=True, text=True,
        )  # fmt: skip
    if "WRK " not in out.stdout:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}")
    out = out.stdout
    r = json.loads(out[out.index("WRK ") + 4 :].splitlines()[0])
    if each_once and r["requests"] > len(requests):
        raise RuntimeError(f"wrk sent {r['requests']} requests of {len(requests)} prepared: prepare more.")
    failed = r["status"] + r["connect"] + r["read"] + r["write"] + r["timeout"]
    return {
        "rps": r["requests"] / (r["duration_us"] / 1e6),
        "p50": r["p50_us"] / 1000,
        "p99": r["p99_us"] / 1000,
        "statuses": {"ok": r["requests"] - r["status"], "failed": failed} if failed else {"ok": r["requests"]},
        "requests": r["requests"],
    }


def _asyncio(requests: list[bytes], connections: int, seconds: float, each_once: bool) -> dict:
    it = iter(requests)

    def next_request() -> bytes:
        try:
            return next(it)
        except StopIteration:
            raise RuntimeError(f"Out of the {len(requests)} prepared requests: prepare more.") from None

    async def run() -> tuple[list[float], collections.Counter, float]:
        latencies: list[float] = []
        statuses: collections.Counter = collections.Counter()
        started = time.perf_counter()
        deadline = started + seconds
        request = next_request if each_once else requests[0]
        await asyncio.gather(*(_connection(request, deadline, latencies, statuses) for _ in range(connections)))
        return latencies, statuses, time.perf_counter() - started

    latencies, statuses, elapsed = asyncio.run(run())
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
        "statuses": dict(statuses),
        "requests": len(latencies),
    }


def load_generator() -> str:
    """ "wrk" when Debian's wrk is installed (C: it leaves gunicorn almost both cores), else "asyncio"."""
    return "wrk" if shutil.which("wrk") and os.environ.get("BENCH_LOAD") != "asyncio" else "asyncio"


def measure(requests: list[bytes], *, connections: int = CONNECTIONS, seconds: float = SECONDS) -> dict:
    """Send `requests` on `connections` keep-alive connections for `seconds`: rate, p50/p99 (ms), statuses.

    One request is sent over and over; a list of several is sent in order, each once (each is a
    new event), and running out is an error rather than a cheaper replay.
    """
    run = _wrk if load_generator() == "wrk" else _asyncio
    return run(requests, connections, seconds, len(requests) > 1)


def gunicorn_start(env: dict, *, workers: int, threads: int, connections: int) -> subprocess.Popen:
    """`bench.serving_site` under gunicorn on PORT, once it answers requests.

    Each worker takes at most its share of `connections`, so the load generator's keep-alive
    connections split evenly rather than all landing, some runs, on one worker (one core).
    """
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "bench.serving_site:application", "--bind", f"127.0.0.1:{PORT}",
         "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "30",
         "--worker-connections", str(-(-connections // workers)), "--log-level", "warning"],
        cwd=Path(__file__).resolve().parents[1], env=env, start_new_session=True,
    )  # fmt: skip
    # Answering, not only accepting: the master accepts at once, while each worker takes seconds to
    # load Django (more on a busy machine), and a measurement begun before then counts the wait.
    deadline = time.monotonic() + 60
    answered = 0
    while answered < 2 * workers and time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", PORT), timeout=1) as sock:
                sock.sendall(request_bytes("GET", "/bench/bare", {"Connection": "close"}))
                answered += sock.recv(12).startswith(b"HTTP/1.1 200")
        except OSError:
            answered = 0
            time.sleep(0.2)
    return server


def server_cpu_seconds(server: subprocess.Popen) -> float | None:
    """CPU time (user + system) the server's processes (gunicorn's master and workers) have used so far.

    Read from Linux's /proc (None elsewhere). Unlike throughput, what a request costs in CPU hardly
    changes with other processes' load on the machine."""
    try:
        pids = [server.pid, *Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
        ticks = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, ValueError, IndexError):
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def main() -> None:
    placement_id, key, n = _seed()
    env = {k: v for k, v in os.environ.items() if k not in ENV_DROP}
    server = gunicorn_start(env, workers=WORKERS, threads=THREADS, connections=CONNECTIONS)
    serve = request_bytes("GET", f"/api/v1/serve/{placement_id}?size=300x250", {"X-Placement-Key": key})
    endpoints = {"bare DRF endpoint": [request_bytes("GET", "/bench/bare", {})], "serve endpoint": [serve]}
    rounds: list[dict] = []
    try:
        for requests in endpoints.values():
            measure(requests, seconds=1.5)  # warm-up: imports, connections, caches
        for i in range(ROUNDS):
            # The two in turn, the first of each round alternating: a change of load on the machine
            # during the run (other processes) then weighs on both alike.
            order = list(endpoints) if i % 2 == 0 else list(endpoints)[::-1]
            results = {}
            for label in order:
                cpu = server_cpu_seconds(server)
                results[label] = measure(endpoints[label], seconds=SECONDS / ROUNDS)
                if cpu is not None and results[label]["requests"]:
                    results[label]["cpu_us"] = (server_cpu_seconds(server) - cpu) / results[label]["requests"] * 1e6
            rounds.append(results)
    finally:
        server.terminate()
        server.wait(timeout=20)
    cache = ENV["CACHE_URL"].split(":")[0]
    print(f"Serving under load: gunicorn ({WORKERS} gthread workers x {THREADS} threads) on 127.0.0.1,")
    print(f"{CONNECTIONS} keep-alive connections from {load_generator()}, {SECONDS:g} s per endpoint in {ROUNDS}")
    print(f"rounds taking turns; {n} approved creatives; cache: {cache}")
    throughput, p99, cpu = [], [], []
    for i, results in enumerate(rounds, 1):
        serve, bare = results["serve endpoint"], results["bare DRF endpoint"]
        throughput.append(serve["rps"] / bare["rps"])
        p99.append(serve["p99"] / bare["p99"])
        for label in endpoints:
            r = results[label]
            rates = f"{r['rps']:7.0f} req/s, p50 {r['p50']:5.1f} ms, p99 {r['p99']:5.1f} ms"
            cost = f", server CPU {r['cpu_us']:4.0f} us/request" if "cpu_us" in r else ""
            print(f"  round {i}, {label:18}: {rates}{cost}, statuses {r['statuses']}")
        if "cpu_us" in serve and "cpu_us" in bare:
            cpu.append(bare["cpu_us"] / serve["cpu_us"])
        print(f"  round {i}: serve / bare throughput {throughput[-1]:.0%}, p99 {p99[-1]:.2f}x")
    print(f"  serve / bare throughput (median of rounds): {statistics.median(throughput):.0%} (aim >= 80%);", end=" ")
    print(f"serve / bare p99 (median of rounds): {statistics.median(p99):.2f}x (aim <= 1.5x)")
    if cpu:
        # Bare's server CPU per request over serve's: the throughput ratio on cores the server had to
        # itself (wrk's own share, alike for both, left out: the true ratio would be a little higher).
        print(f"  bare / serve server CPU per request (median of rounds): {statistics.median(cpu):.0%}")


if __name__ == "__main__":
    main()
