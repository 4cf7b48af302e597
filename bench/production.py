"""The production figures in one report: load held, faults survived, bad inputs tried, events lost.

Run: `python -m bench.production` (or `make figures`). Needs PostgreSQL on 127.0.0.1:5432
(database `bench_production`, recreated; the suites below get test databases of their own) and
Redis on 127.0.0.1:6379 (dbs 11-14). The pieces are the existing ones:

1. Load held: gunicorn serving `creativeadmin.wsgi` as the stack runs it (DEBUG off, the
   stack's gthread workers, WEB_WORKERS x WEB_THREADS, DB_CONN_MAX_AGE 60; TLS ends at a proxy in front, so requests say
   `X-Forwarded-Proto: https`) on PostgreSQL and Redis, loaded by `bench.serving`'s asyncio
   client at an offered rate. The rate is stepped up for STEP_SECONDS each until p99 passes
   50 ms or errors reach 0.1%, then the highest rate that passed is held for HOLD_SECONDS
   (60 s); a missed hold is tried again lower, at most three holds in all.
2. Faults survived: the integration fault suite (worker SIGKILLs, Redis restarts, PostgreSQL
   connections dropped, a poison task, a pool process killed mid-generation).
3. Bad inputs tried: tests/security (upload attacks, request limits, admin hardening, role
   matrix, API and validator fuzzing, tracking integrity), cases per category and examples per
   fuzz test.
4. Events lost: `bench.ingestion`'s no-loss run (BENCH_NO_LOSS_EVENTS, 100,000 by default),
   and its replayed tokens stored but not counted.
"""

import asyncio
import collections
import itertools
import os
import signal
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from . import ingestion
from . import serving as load

ROOT = ingestion.ROOT
DATABASE = "bench_production"
PORT = 18600
WEB_WORKERS = int(os.environ.get("WEB_WORKERS", "3"))  # as scripts/prod-stack.sh
WEB_THREADS = int(os.environ.get("WEB_THREADS", "8"))
DB_CONN_MAX_AGE = os.environ.get("DB_CONN_MAX_AGE", "60")
HOLD_SECONDS = float(os.environ.get("HOLD_SECONDS", "60"))
STEP_SECONDS = float(os.environ.get("STEP_SECONDS", "5"))
START_RATE = float(os.environ.get("START_RATE", "100"))
P99_LIMIT_MS, ERROR_LIMIT = 50.0, 0.001
CONNECTIONS = 64  # enough for rate x p99 requests in flight; a busy moment queues, it is not dropped
STEP_UP, REFINEMENTS = 1.5, 2  # rates x1.5 until one fails, then two bisections between the last pass and it
HOLD_TRIES, HOLD_BACK_OFF = 3, 0.85

FAULT_TESTS = ["tests/integration/test_faults.py", "tests/integration/test_worker_killed.py"]
FAULT_ENV = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/figures",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/11",
    "CACHE_URL": "redis://127.0.0.1:6379/12",
}
SECURITY_CATEGORIES = {  # module -> category
    "test_uploads": "upload attacks",
    "test_request_limits": "request limits",
    "test_admin_hardening": "admin hardening",
    "test_role_matrix": "role matrix",
    "test_api_fuzz": "API fuzzing",
    "test_validator_fuzz": "validator fuzzing",
    "test_tracking_integrity": "tracking integrity",
    "test_web_hardening": "web hardening",
    "test_setup_fonts": "set-up fonts",
    "test_ssrf": "SSRF",
    "test_login_throttle": "login throttle",
    "test_work_limits": "work limits",
}
# The environment as the shell gave it (the load's settings are added to os.environ later), less what
# would change what the suites run against: they choose their own.
SHELL_ENV = dict(os.environ)
SUITE_ENV_DROP = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "DEBUG", "SECRET_KEY", "MEDIA_STORAGE")


# --- 1. Load held ---------------------------------------------------------------------------------------


@dataclass
class Step:
    offered: float
    seconds: float
    result: dict  # rps, p50, p99, statuses, requests

    @property
    def errors(self) -> float:
        """The share of requests that were not answered with a 2xx (status 0: the connection failed)."""
        bad = sum(n for status, n in self.result["statuses"].items() if not 200 <= status < 300)
        return bad / max(1, self.result["requests"])

    @property
    def held(self) -> bool:
        """p99 and errors within the target, and the offered rate was actually sent and answered."""
        r = self.result
        return r["p99"] <= P99_LIMIT_MS and self.errors < ERROR_LIMIT and r["rps"] >= 0.95 * self.offered


@dataclass
class LoadFigure:
    label: str
    steps: list[Step] = field(default_factory=list)
    holds: list[Step] = field(default_factory=list)


async def _offered(request, rate: float, seconds: float) -> dict:
    """`request` at `rate` per second for `seconds` over CONNECTIONS connections: rate achieved and latencies."""
    latencies: list[float] = []
    statuses: collections.Counter = collections.Counter()
    started = time.perf_counter() + 0.05
    deadline = started + seconds
    schedule = (started + i / rate for i in itertools.count())
    await asyncio.gather(
        *(load._connection(request, deadline, latencies, statuses, schedule) for _ in range(CONNECTIONS))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": sum(n for s, n in statuses.items() if 200 <= s < 300) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
        "statuses": dict(statuses),
        "requests": len(latencies),
    }


def _feed(requests: list[bytes]):
    """Each request once, in order; running out is an error (a replay would be cheaper than a new event)."""
    it = iter(requests)

    def next_request() -> bytes:
        try:
            return next(it)
        except StopIteration:
            raise RuntimeError("Out of prepared requests for this step.") from None

    return next_request


def _hold(figure: LoadFigure, request_for) -> None:
    """Step the offered rate up until a step fails, bisect towards it, then hold the best rate that passed.

    `request_for(n)`: what `_offered` sends, good for at least n requests.
    """

    def run(rate: float, seconds: float) -> Step:
        return Step(rate, seconds, asyncio.run(_offered(request_for(int(rate * seconds * 1.02) + 200), rate, seconds)))

    def step(rate: float) -> bool:
        """A step's verdict; a failed one is run again (a few slow requests of a short step may be a hiccup)."""
        for _ in range(2):
            figure.steps.append(run(rate, STEP_SECONDS))
            if figure.steps[-1].held:
                return True
        return False

    asyncio.run(_offered(request_for(600), 100, 4))  # warm-up: imports, connections, caches
    passed, failed, rate = None, None, START_RATE
    while failed is None:
        if step(rate):
            passed, rate = rate, rate * STEP_UP
        else:
            failed = rate
    if passed is None:
        return
    for _ in range(REFINEMENTS):
        rate = (passed * failed) ** 0.5
        if step(rate):
            passed = rate
        else:
            failed = rate
    rate = _round(passed)
    for _ in range(HOLD_TRIES):
        figure.holds.append(run(rate, HOLD_SECONDS))
        if figure.holds[-1].held:
            return
        # What a short step took may not last a minute (queues build, vacuum and checkpoints come round):
        # try again below both the rate that missed and what it answered.
        rate = _round(HOLD_BACK_OFF * min(rate, figure.holds[-1].result["rps"]))


def _round(rate: float) -> float:
    """Two significant figures, down: the rate printed is the rate held."""
    scale = 10 ** max(0, len(str(int(rate))) - 2)
    return max(1, int(rate // scale) * scale)


def _server_start(env: dict) -> subprocess.Popen:
    """gunicorn as the stack's Procfile starts it, on plain HTTP (TLS ends at the proxy)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "creativeadmin.wsgi", "--bind", f"127.0.0.1:{PORT}",
         "--workers", str(WEB_WORKERS), "--worker-class", "gthread", "--threads", str(WEB_THREADS),
         "--graceful-timeout", "20",
         "--access-logfile", str(load.WORKDIR / "access.log"), "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True, stdout=(load.WORKDIR / "gunicorn.log").open("w"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not _answers():
        if server.poll() is not None or time.monotonic() > deadline:
            _server_stop(server)
            raise RuntimeError("gunicorn did not start")
        time.sleep(0.2)
    return server


def _server_stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _answers() -> bool:
    """Whether Django answers (the health page says 503 here: no Celery worker runs for this load)."""
    import http.client

    try:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
        conn.request("GET", "/api/v1/health/", headers={"X-Forwarded-Proto": "https"})
        return conn.getresponse().status in (200, 503)
    except (OSError, http.client.HTTPException):
        return False


def _configure() -> None:
    """The load's database, cache, broker and port; settings as the stack sets them, throttle aside."""
    ingestion.DATABASE = DATABASE
    ingestion._database_recreate()
    load.PORT = PORT
    load.ENV.pop("SECURE_SSL_REDIRECT")  # on, as in production: requests come "from the TLS proxy"
    load.ENV.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        CACHE_URL="redis://127.0.0.1:6379/13",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/14",
        DB_CONN_MAX_AGE=DB_CONN_MAX_AGE,
    )
    load.ENV_DROP = ()


def _vacuum() -> None:
    """VACUUM ANALYZE now, so autovacuum does not start on the history half way through a step."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def load_held() -> list[LoadFigure]:
    _configure()
    placement_id, key, _ = load._seed()
    ingestion._history(placement_id, ingestion.HISTORY)
    _vacuum()
    proxy = "Host: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n"
    serve = (
        f"GET /api/v1/serve/{placement_id}?size=300x250 HTTP/1.1\r\n{proxy}X-Placement-Key: {key}\r\n\r\n"
    ).encode()

    def pixels(n: int):
        head = f"HTTP/1.1\r\n{proxy}User-Agent: {ingestion.BROWSER}\r\n\r\n"
        return _feed(
            [f"GET /t/i/{impression}.gif {head}".encode() for impression, _ in ingestion._tokens(placement_id, n)]
        )

    figures = [LoadFigure("serving  GET /api/v1/serve/<placement>"), LoadFigure("pixel    GET /t/i/<token>.gif")]
    server = _server_start(dict(os.environ))
    try:
        _hold(figures[0], lambda n: serve)
        _hold(figures[1], pixels)
    finally:
        _server_stop(server)
    return figures


# --- 2 and 3. The fault and security suites --------------------------------------------------------------


@dataclass
class Case:
    module: str
    name: str  # the test function, without its parameters
    params: str
    outcome: str  # passed, failed, skipped
    seconds: float
    message: str = ""
    examples: int = 0  # inputs hypothesis ran (bench.hypothesis_examples), 0 in a test without it


def _pytest(args: list[str], *, env: dict, junit: str) -> tuple[list[Case], str, float]:
    """Run pytest in a subprocess: the cases from its junit XML, its output and how long it took."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "bench.hypothesis_examples", "-rA",
         f"--junitxml={junit}", *args],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    cases = []
    if os.path.exists(junit):
        for tc in ET.parse(junit).getroot().iter("testcase"):
            name, _, params = tc.get("name", "").partition("[")
            outcome, message = "passed", ""
            for child in tc:
                if child.tag in ("failure", "error"):
                    outcome, message = "failed", child.get("message", "")
                elif child.tag == "skipped":
                    outcome, message = "skipped", child.get("message", "")
            module = tc.get("classname", "").rsplit(".", 1)[-1]
            examples = sum(int(p.get("value")) for p in tc.iter("property") if p.get("name") == "hypothesis_examples")
            cases.append(Case(module, name, params.rstrip("]"), outcome, float(tc.get("time", 0)), message, examples))
    return cases, out.stdout + out.stderr, seconds


def _suite_env(**extra: str) -> dict:
    env = {k: v for k, v in SHELL_ENV.items() if k not in SUITE_ENV_DROP}
    env.update(DJANGO_SETTINGS_MODULE="creativeadmin.settings", **extra)
    return env


def faults_survived() -> tuple[list[Case], str, float]:
    junit = str(load.WORKDIR / "faults.xml")
    return _pytest(["-m", "integration", *FAULT_TESTS], env=_suite_env(**FAULT_ENV), junit=junit)


def bad_inputs_tried() -> tuple[list[Case], str, float]:
    return _pytest(["tests/security"], env=_suite_env(), junit=str(load.WORKDIR / "security.xml"))


# --- The report --------------------------------------------------------------------------------------------


def _title(name: str) -> str:
    return name.removeprefix("test_").replace("_", " ")


def _outcomes(cases: list[Case]) -> str:
    counts = collections.Counter(c.outcome for c in cases)
    return ", ".join(f"{counts[o]} {o}" for o in ("passed", "failed", "skipped") if counts[o])


def print_load(figures: list[LoadFigure]) -> None:
    print(
        f"1. Load held: gunicorn creativeadmin.wsgi ({WEB_WORKERS} gthread workers x {WEB_THREADS} threads, DEBUG off,"
    )
    print(
        f"   DB_CONN_MAX_AGE {DB_CONN_MAX_AGE}: as the stack), PostgreSQL ({ingestion.HISTORY:,} events stored before),"
    )
    print("   Redis cache;")
    print(f"   bench.serving's asyncio client at an offered rate over {CONNECTIONS} connections, latency from when")
    print(f"   each request was due; target p99 <= 50 ms, errors < 0.1% for {HOLD_SECONDS:g} s. Steps of")
    print(f"   {STEP_SECONDS:g} s (a failed one run twice), x{STEP_UP} up, then bisected:")
    for figure in figures:
        steps = "  ".join(f"{s.offered:.0f}:{s.result['p99']:.0f}ms{'' if s.held else '(x)'}" for s in figure.steps)
        print(f"   {figure.label}  steps (req/s: p99) {steps}")
        for hold in figure.holds:
            r = hold.result
            verdict = "PASS" if hold.held else "MISS"
            print(
                f"     held {hold.offered:6.0f} req/s offered for {hold.seconds:g} s: {r['rps']:6.0f} req/s answered,"
                f" p50 {r['p50']:5.1f} ms, p99 {r['p99']:5.1f} ms, errors {hold.errors:.3%}"
                f" ({r['requests']:,} requests, statuses {r['statuses']})  {verdict}"
            )
        if not figure.holds:
            print(f"     MISS: even {START_RATE:g} req/s failed the target")


def print_faults(cases: list[Case], seconds: float) -> int:
    print(f"2. Faults survived: pytest -m integration {' '.join(FAULT_TESTS)} ({seconds:.0f} s)")
    for c in cases:
        print(f"   {c.outcome.upper():7} {_title(c.name)} ({c.seconds:.0f} s)")
        if c.message:
            print(f"           {c.message[:300]}")
    if not cases:
        print("   NO RESULTS (the suite did not run; its output is below)")
    return sum(c.outcome == "passed" for c in cases)


def print_bad_inputs(cases: list[Case], seconds: float) -> tuple[int, int]:
    """Per category: test cases, and per test function its cases (parametrised) or examples (hypothesis)."""
    fuzz_examples = os.environ.get("FUZZ_EXAMPLES", "the CI default")
    print(f"3. Bad inputs tried: pytest tests/security ({seconds:.0f} s; FUZZ_EXAMPLES: {fuzz_examples})")
    by_module = collections.defaultdict(list)
    for c in cases:
        by_module[c.module].append(c)
    total_inputs = 0
    for module, category in SECURITY_CATEGORIES.items():
        module_cases = by_module.pop(module, [])
        inputs = 0
        lines = []
        for name, group in itertools.groupby(module_cases, key=lambda c: c.name):
            group = list(group)
            generated = sum(c.examples for c in group)
            n = generated or len(group)
            inputs += n
            what = f"{generated:,} generated examples over {len(group)} cases" if generated else f"{n} cases"
            lines.append(f"     {_title(name)}: {what} ({_outcomes(group)})")
        total_inputs += inputs
        print(f"   {category}: {inputs:,} inputs in {len(module_cases)} test cases ({_outcomes(module_cases)})")
        for line in lines:
            print(line)
        for c in module_cases:
            if c.outcome != "passed":
                print(f"       {c.outcome} {c.name}[{c.params}]: {c.message[:160]}")
    for module, rest in by_module.items():
        print(f"   (not categorised) {module}: {len(rest)} test cases ({_outcomes(rest)})")
    return total_inputs, sum(c.outcome == "failed" for c in cases)


def events_lost() -> tuple[int, str]:
    """bench.ingestion's no-loss run in this bench's database; prints its counts, returns events lost and
    what else went wrong ("" when nothing did)."""
    # Its client speaks plain HTTP to gunicorn with no proxy headers, as in bench.ingestion: no HTTPS redirect.
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    workload, report, counts = ingestion.no_loss(ingestion.NO_LOSS_EVENTS)
    expected = workload.expected
    gross = ("impressions_gross", "clicks_gross")
    unique = sum(expected[k] for k in gross)
    stored = sum(counts[k] for k in gross)
    lost = sum(max(0, expected[k] - counts[k]) for k in gross)
    twice = sum(max(0, counts[k] - expected[k]) for k in gross)
    net_ok = all(counts[k] == expected[k] for k in ("impressions", "clicks"))
    replays_ok = counts["replays"] == expected["replays"]
    print(
        f"4. Events lost: bench.ingestion's no-loss run, {report.requests:,} pixel and batch requests over"
        f" {report.seconds:.0f} s; web server SIGKILLed and restarted {report.web_restarts}x, rollup worker"
        f" SIGKILLed {report.worker_kills}x; {report.retries} requests retried until acknowledged"
    )
    print(f"   events sent {workload.sent_events:,} ({workload.sent_events - unique:,} of them sent twice on purpose)")
    print(f"   acknowledged {workload.sent_events:,} (every request until a 2xx)")
    print(f"   stored (daily rollups, gross) {stored:,} of {unique:,} unique; net of bots {counts['impressions']:,}")
    print(f"     impressions, {counts['clicks']:,} clicks = the unique valid events: {'yes' if net_ok else 'NO'}")
    print(
        f"   replayed tokens (a counted event's token under a new id) {expected['replays']:,}: stored, not counted"
        f" {counts['replays']:,}"
    )
    passed = lost == twice == 0 and net_ok and replays_ok
    print(f"   events lost {lost}; counted twice {twice}  {'PASS' if passed else 'MISS'}")
    wrong = (
        (f"; counted twice {twice}" if twice else "")
        + ("; net counts differ" if not net_ok else "")
        + (f"; replays stored, not counted {counts['replays']} of {expected['replays']}" if not replays_ok else "")
    )
    return lost, wrong


def main() -> None:
    started = time.perf_counter()
    print(f"Production figures ({os.cpu_count()} cores; load, suites and services share them)\n")
    figures = load_held()
    print_load(figures)
    print()
    fault_cases, fault_output, fault_seconds = faults_survived()
    survived = print_faults(fault_cases, fault_seconds)
    if not fault_cases:
        print(fault_output[-3000:])
    print()
    security_cases, security_output, security_seconds = bad_inputs_tried()
    inputs, security_failed = print_bad_inputs(security_cases, security_seconds)
    if not security_cases:
        print(security_output[-3000:])
    print()
    lost, wrong = events_lost()
    print()
    minutes = (time.perf_counter() - started) / 60
    print(f"Totals ({minutes:.1f} min):")
    for figure in figures:
        hold = figure.holds[-1] if figure.holds else None
        rate = f"{hold.result['rps']:.0f} req/s at p99 {hold.result['p99']:.1f} ms" if hold else "nothing held"
        print(f"  load held, {figure.label.split()[0]:8}: {rate} {'PASS' if hold and hold.held else 'MISS'}")
    print(f"  faults survived: {survived} of {len(fault_cases)}")
    print(f"  bad inputs tried: {inputs:,} in {len(security_cases)} test cases, {security_failed} failed")
    print(f"  events lost: {lost}{wrong}")


if __name__ == "__main__":
    main()
