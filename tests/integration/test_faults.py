"""The fault suite: workers SIGKILLed, the broker restarted, database connections dropped, a poison task.

What must hold in every case: every product set of a generation job is generated exactly once
(no set lost, no duplicate creative: the unique key over campaign, products, version, size and
variant), the job finishes by itself, and recovery takes no manual step. Each test has its own
worker on its own queue (and, for the broker restart, its own Redis), so killing them never
disturbs the rest of the suite.
"""

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from decimal import Decimal

import pytest

from .conftest import (
    ROOT,
    celery_worker,
    generation_routed_to,
    start_process_group,
    stop_process_group,
    worker_env,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

VISIBILITY_TIMEOUT = 12  # seconds a delivered, unacknowledged message waits before another worker gets it
RESTORE_INTERVAL = 10  # how often a worker looks for such messages (kombu's unacked_restore_interval)
RESUME_STALL = VISIBILITY_TIMEOUT + RESTORE_INTERVAL + 10  # a job idle this long has lost a task: sent again
RESUME_EVERY = 5  # seconds between the test's runs of the stalled-job resume (beat's schedule, shortened)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _campaign(name: str, products: int):
    """A campaign of `products` single-product sets, one small size, so a task is cheap (~0.1 s)."""
    from campaigns.models import AdCopySet, Campaign, Placement
    from campaigns.services import product_upsert
    from synthesis.samples import product_photo
    from templates_app.services import template_create, template_publish

    spec = json.loads((ROOT / "synthesis" / "templates" / "single-hero.json").read_text())
    template = template_publish(template=template_create(name=f"{name}-hero", spec=spec))
    placement = Placement.objects.create(name=f"{name}-mpu", channel="dsp", sizes=[[300, 250]])
    campaign = Campaign.objects.create(
        name=name, copy=AdCopySet.objects.create(name=name, titles=["冬季羽绒服 限时直降"]), top_k=1,
        candidates_per_size=4,
    )  # fmt: skip
    campaign.templates.add(template)
    campaign.placements.add(placement)
    images = []
    for i in range(8):  # a few distinct photos, shared (content-addressed storage keeps one copy each)
        buf = io.BytesIO()
        product_photo(((37 * i) % 255, 90, 160), size=160, seed=i).image.save(buf, format="JPEG", quality=80)
        images.append(buf.getvalue())
    for i in range(products):
        campaign.products.add(
            product_upsert(sku=f"{name}-{i:03d}", title="x", price=Decimal("9"), image_data=images[i % len(images)])
        )
    return campaign


def _pool_children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _wait_for(condition, timeout: float, what: str, poll: float = 0.2, log=None):
    """`condition()`'s first truthy value; a failure after `timeout` shows the tail of the worker's `log`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    _fail(f"timed out after {timeout:.0f} s waiting for {what}", log)


def _fail(message: str, log=None):
    """Fail the test with `message` and the tail of the worker's `log`."""
    tail = "\n".join(log.read_text().splitlines()[-60:]) if log is not None and log.exists() else ""
    pytest.fail(f"{message}\n{tail}")


def _finished(job):
    from campaigns.models import GenerationJob

    job.refresh_from_db()
    return job.state in (GenerationJob.State.DONE, GenerationJob.State.FAILED)


def _assert_every_set_once(campaign, job, sets: int):
    from campaigns.models import Creative, GenerationJob

    job.refresh_from_db()
    assert job.state == GenerationJob.State.DONE, (job.state, len(job.completed_sets), job.failed_sets)
    assert not job.failed_sets
    assert len(job.completed_sets) == len(set(job.completed_sets)) == sets  # each set recorded once
    keys = list(Creative.objects.filter(campaign=campaign).values_list("product_key", "width", "height", "variant"))
    assert len(keys) == len(set(keys)) == sets  # one creative per set (top 1 at one size), none twice


def test_200_tasks_survive_three_worker_kills(real_services, tmp_path):
    """Two pool processes and then the whole worker SIGKILLed while 200 tasks run: nothing lost, nothing twice.

    A killed pool process's task is requeued at once (acks_late + reject_on_worker_lost); the
    messages a killed worker had taken come back to the next worker once the broker's visibility
    timeout has passed, so recovery is bounded by it. A message the worker was killed in the middle
    of taking (Redis had popped it, the worker had not yet recorded it as unacknowledged: kombu's
    Redis transport has that window; the test takes one such message itself) is lost to the broker;
    the stalled-job resume sends its set again. It runs here every few seconds, as beat runs it every
    minute, with a stall of RESUME_STALL seconds (longer than the visibility timeout's recovery)
    instead of 15 minutes.
    """
    from campaigns.models import GenerationJob
    from campaigns.services import generation_job_start, generation_jobs_resume

    queue = f"faults-kill-{os.getpid()}"
    campaign = _campaign("kill200", 200)
    env = worker_env(CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT))
    done = lambda: len(GenerationJob.objects.get(pk=job.pk).completed_sets)  # noqa: E731
    with (
        generation_routed_to(queue),
        celery_worker(env=env, log=tmp_path / "a.log", name=f"kill-a-{os.getpid()}", queue=queue) as a,
    ):
        job = generation_job_start(campaign=campaign)
        started = time.monotonic()
        killed = []
        for threshold in (20, 60):
            _wait_for(lambda t=threshold: done() >= t, 180, f"{threshold} sets")
            child = _pool_children(a.pid)[0]
            os.kill(child, signal.SIGKILL)
            killed.append(child)
            # Reaped by the worker, which starts a replacement: the kill really happened.
            _wait_for(lambda c=child: c not in _pool_children(a.pid), 30, f"pool process {child} to be reaped")
        _wait_for(lambda: done() >= 100, 180, "100 sets")
        os.killpg(a.pid, signal.SIGKILL)  # the whole worker: main process and pool at once
        killed_at = time.monotonic()
        rate = done() / (killed_at - started)  # sets per second, kills included
        a.wait()
    assert len(killed) == 2
    done_at_kill = done()
    assert done_at_kill < 200  # the worker really died with work left
    # That window, made certain: one waiting message taken from Redis as a dying worker takes it, and
    # recorded nowhere. Only the resume can bring its set back.
    from creativeadmin.celery import app

    with app.connection_for_write() as conn:
        assert conn.default_channel.client.rpop(queue) is not None

    with (
        generation_routed_to(queue),
        celery_worker(env=env, log=tmp_path / "b.log", name=f"kill-b-{os.getpid()}", queue=queue),
    ):
        deadline, resumed = time.monotonic() + VISIBILITY_TIMEOUT + RESUME_STALL + 180, []
        next_resume = time.monotonic() + RESUME_EVERY
        while not _finished(job):
            if time.monotonic() > next_resume:
                resumed += generation_jobs_resume(stalled_seconds=RESUME_STALL).values()
                next_resume = time.monotonic() + RESUME_EVERY
            if time.monotonic() > deadline:
                _fail(f"the job did not finish after the kills ({done()} of 200 sets done, sets sent again by"
                      f" the resume: {resumed})", log=tmp_path / "b.log")  # fmt: skip
            time.sleep(0.2)
        recovered_in = time.monotonic() - killed_at
    _assert_every_set_once(campaign, job, 200)
    # The new worker waits out the visibility timeout for the killed one's messages, then works at the
    # same pace as before: recovery is bounded by the timeout (and, for a message lost in the worker's
    # hands, by the resume's stall), not by a person noticing.
    left_at_kill = 200 - done_at_kill
    expected = VISIBILITY_TIMEOUT + RESTORE_INTERVAL + left_at_kill / rate
    assert resumed  # the lost message's set was sent again
    expected += RESUME_STALL + RESUME_EVERY
    print(
        f"200 tasks, 3 kills: finished {recovered_in:.1f} s after the last kill with {left_at_kill} sets left "
        f"(visibility timeout {VISIBILITY_TIMEOUT} s + the broker's {RESTORE_INTERVAL} s restore interval + "
        f"{left_at_kill / rate:.1f} s of work at the earlier pace; sets sent again by the resume: {resumed})"
    )
    assert recovered_in <= 1.5 * expected + 15


@contextmanager
def _private_redis(tmp_path, port: int):
    """A redis-server of this test's own, with an append-only file synced on every write (as production should run)."""
    data = tmp_path / "redis"
    data.mkdir(exist_ok=True)
    cmd = [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data), "--appendonly", "yes",
        "--appendfsync", "always", "--save", "",
    ]  # fmt: skip
    procs = []

    def start():
        proc = start_process_group(cmd, env=dict(os.environ), log=tmp_path / f"redis-{len(procs)}.log")
        procs.append(proc)
        _wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0
                  and b"PONG" in subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout,
                  30, "redis to answer")  # fmt: skip
        return proc

    def restart(*, hard: bool):
        proc = procs[-1]
        os.killpg(proc.pid, signal.SIGKILL if hard else signal.SIGTERM)
        proc.wait(timeout=30)
        return start()

    start()
    try:
        yield restart
    finally:
        stop_process_group(procs[-1])


def _as_web_process(env: dict, statement: str) -> str:
    """Run `statement` (Python, printing its result) in a new process with `env`, as a web or beat
    process would, its generation tasks routed to env's FAULT_QUEUE; returns what it printed last."""
    code = (
        "import django; django.setup()\n"
        "from campaigns.models import Campaign\n"
        "from campaigns.services import generation_job_start, generation_jobs_resume\n"
        "from creativeadmin.celery import app\n"
        "app.conf.update(task_routes={'campaigns.tasks.generate_product_set': "
        f"{{'queue': {env['FAULT_QUEUE']!r}}}}})\n"
        f"{statement}\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "creativeadmin.settings"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def _enqueue_in_another_process(campaign_id: int, env: dict) -> int:
    """What a web process does when an operator presses Generate: returns the job id once the tasks are sent."""
    return int(_as_web_process(env, f"print(generation_job_start(campaign=Campaign.objects.get(pk={campaign_id})).pk)"))


def test_broker_restarted_with_work_queued_and_again_mid_run(real_services, tmp_path):
    """Redis restarted while 30 tasks wait in it (no worker yet), then killed and restarted while the worker
    runs them: the queued work survives (append-only file), the worker reconnects (or, when Celery gives up,
    is started again as a supervisor would), and the job finishes with every set once.

    A task Redis loses outright (killed between handing it to the worker and recording it as unacknowledged:
    kombu's Redis transport has that window) comes back through the stalled-job resume, run here every few
    seconds as beat runs it every minute, with a stall of VISIBILITY_TIMEOUT instead of 15 minutes."""
    from campaigns.models import GenerationJob

    port = _free_port()
    queue = f"faults-redis-{os.getpid()}"
    campaign = _campaign("redis30", 30)
    env = worker_env(
        CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0", CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        FAULT_QUEUE=queue,
    )  # fmt: skip
    with _private_redis(tmp_path, port) as redis_restart:
        job_id = _enqueue_in_another_process(campaign.pk, env)
        queued = subprocess.run(["redis-cli", "-p", str(port), "llen", queue], capture_output=True, text=True)
        assert int(queued.stdout) == 30
        redis_restart(hard=False)  # an orderly restart with nothing consuming: the queue is still there
        queued = subprocess.run(["redis-cli", "-p", str(port), "llen", queue], capture_output=True, text=True)
        assert int(queued.stdout) == 30

        job = GenerationJob.objects.get(pk=job_id)
        with ExitStack() as workers:

            def worker_start(n: int):
                log, name = tmp_path / f"worker-{n}.log", f"redis-{os.getpid()}-{n}"
                return workers.enter_context(celery_worker(env=env, log=log, name=name, queue=queue))

            worker, restarts = worker_start(0), 0
            _wait_for(lambda: len(GenerationJob.objects.get(pk=job_id).completed_sets) >= 5, 120, "5 sets")
            redis_restart(hard=True)  # SIGKILL mid-run; every write it acknowledged is in the append-only file
            deadline = time.monotonic() + VISIBILITY_TIMEOUT + 180
            resumed, next_resume = [], time.monotonic() + VISIBILITY_TIMEOUT
            while not _finished(job):
                if worker.poll() is not None:
                    # Celery can give up when the broker vanishes while it restores unacknowledged messages
                    # (kombu: "Unrecoverable error"); a supervisor (systemd, the process manager) starts it again.
                    restarts += 1
                    worker = worker_start(restarts)
                if time.monotonic() > next_resume:
                    resume = f"print(generation_jobs_resume(stalled_seconds={VISIBILITY_TIMEOUT}))"
                    resumed.append(_as_web_process(env, resume))
                    next_resume = time.monotonic() + 5
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"the job did not finish after the broker restart ({restarts} worker restarts;"
                        f" resumes sent: {resumed})"
                    )
                time.sleep(0.2)
            assert restarts <= 1
    _assert_every_set_once(campaign, job, 30)


def test_database_connections_dropped_mid_task_are_retried(real_services, tmp_path):
    """Every worker connection to PostgreSQL terminated (pg_terminate_backend) several times while tasks run:
    the tasks that lost theirs are retried on a new connection and the job finishes with every set once."""
    from django.db import connection

    from campaigns.services import generation_job_start

    queue = f"faults-pg-{os.getpid()}"
    campaign = _campaign("pgdrop", 40)
    db_name = connection.settings_dict["NAME"]
    env = worker_env(CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT))

    def drop_worker_connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [db_name],
            )
            return cursor.fetchone()[0]

    from campaigns.models import GenerationJob

    with (
        generation_routed_to(queue),
        celery_worker(env=env, log=tmp_path / "worker.log", name=f"pg-{os.getpid()}", queue=queue),
    ):
        job = generation_job_start(campaign=campaign)
        dropped = 0
        for threshold in (5, 15, 25):
            _wait_for(
                lambda t=threshold: len(GenerationJob.objects.get(pk=job.pk).completed_sets) >= t,
                120,
                f"{threshold} sets",
            )
            dropped += drop_worker_connections()
        _wait_for(
            lambda: _finished(job), 180, "the job to finish after the dropped connections", log=tmp_path / "worker.log"
        )
    assert dropped > 0  # connections really were cut
    _assert_every_set_once(campaign, job, 40)


def test_a_poison_task_fails_after_its_attempts_and_the_queue_keeps_draining(real_services, tmp_path):
    """One product set whose image has vanished from storage fails on every attempt: it is tried at most
    1 + max_retries times (a missing file is not retried at all), then recorded as failed and shown on the
    job in the admin, and every other set is made."""
    from django.core.files.storage import default_storage

    from campaigns.models import GenerationJob, Product
    from campaigns.services import generation_job_start, product_upsert
    from campaigns.tasks import generate_product_set
    from synthesis.samples import product_photo

    queue = f"faults-poison-{os.getpid()}"
    campaign = _campaign("poison", 12)
    buf = io.BytesIO()
    product_photo((10, 200, 30), size=160, seed=99).image.save(buf, format="JPEG")
    poison = product_upsert(sku="poison-x", title="x", price=Decimal("9"), image_data=buf.getvalue())
    campaign.products.add(poison)
    poison_image = Product.objects.get(pk=poison.pk).main_image.name
    default_storage.delete(poison_image)  # gone for good, for every attempt
    env = worker_env(CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT))
    with (
        generation_routed_to(queue),
        celery_worker(env=env, log=tmp_path / "worker.log", name=f"poison-{os.getpid()}", queue=queue) as worker,
    ):
        job = generation_job_start(campaign=campaign)
        _wait_for(lambda: _finished(job), 240, "the job to finish with the poison set")
        log = worker.log_path.read_text()
    job.refresh_from_db()
    assert job.state == GenerationJob.State.DONE
    missing = poison_image.rsplit("/", 1)[-1]
    assert set(job.failed_sets) == {"poison-x"} and missing in job.failed_sets["poison-x"]
    assert len(job.completed_sets) == 12  # the queue kept draining around it
    # A file that is gone will not come back: at most the configured attempts (here: the first).
    retries = [line for line in log.splitlines() if " retry: " in line and missing in line]
    assert len(retries) <= generate_product_set.max_retries

    from django.contrib.auth import get_user_model
    from django.test import Client

    admin = get_user_model().objects.create_superuser("fault-admin", password="pw-fault-admin")
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/campaigns/generationjob/{job.pk}/change/").content.decode()
    assert "poison-x" in page and missing in page


def test_web_requests_recover_when_database_connections_drop(real_services, tmp_path):
    """gunicorn keeping its database connections (DB_CONN_MAX_AGE=60, as the stack runs it): every server
    connection to PostgreSQL is terminated twice while impressions arrive. The pixel finds its kept connection
    dead and stores the impression on a new one, so no request fails, and every impression is stored once."""
    import http.client

    from django.conf import settings
    from django.db import connection

    from analytics.models import Event
    from bench.ingestion import BROWSER, NoLossStack, no_loss_campaign
    from campaigns.serving import serve_creative

    db = settings.DATABASES["default"]
    env = {
        **os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "SECRET_KEY": settings.SECRET_KEY, "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false", "DB_CONN_MAX_AGE": "60",
    }  # fmt: skip
    port = _free_port()
    stack = NoLossStack(env=env, port=port, logs=tmp_path, queue=f"faults-web-{os.getpid()}")
    placement, _ = no_loss_campaign("web-drop")
    tokens = [serve_creative(placement=placement, placement_id=placement.pk, size=(300, 250)) for _ in range(300)]

    def pixel(token: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", f"/t/i/{token}.gif", headers={"User-Agent": BROWSER})
            return conn.getresponse().status
        except OSError:
            return 0
        finally:
            conn.close()

    def drop_server_connections() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [db["NAME"]],
            )
            return cursor.fetchone()[0]

    stack.web_start()
    try:
        _wait_for(lambda: pixel(tokens[0].impression_token) == 200, 60, "gunicorn to answer")
        acknowledged, failed_first_try, dropped = {tokens[0].impression_token}, 0, 0
        for i, served in enumerate(tokens[1:], start=1):
            if i in (100, 200):
                dropped += drop_server_connections()
            status = pixel(served.impression_token)
            if status != 200:  # a placement's client sends it again
                failed_first_try += 1
                status = _wait_for(lambda t=served.impression_token: pixel(t) == 200 and 200, 30, "a retried pixel")
            acknowledged.add(served.impression_token)
    finally:
        stack.stop()
    assert dropped > 0  # gunicorn's kept connections were really cut
    assert failed_first_try == 0  # the request that met a dead connection stored its impression on a new one
    stored = Event.objects.filter(kind=Event.Kind.IMPRESSION, placement=placement)
    assert stored.count() == len(acknowledged) == 300
