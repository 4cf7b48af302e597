"""Real services for the integration suite: PostgreSQL, Redis and a `celery worker` process.

Run by .ci/run with DATABASE_URL pointing at PostgreSQL and CELERY_BROKER_URL at Redis.
The worker is a real subprocess that connects to pytest-django's test database.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def start_process_group(cmd: list[str], *, env: dict, log: Path) -> subprocess.Popen:
    """Start `cmd` from the repository root in its own process group, its output in `log`."""
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop_process_group(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the group, then SIGKILL what is left after `timeout` seconds."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="session")
def real_services():
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("The integration suite needs DATABASE_URL=postgres://... (see .ci/run).")
    if not settings.CELERY_BROKER_URL:
        pytest.fail("The integration suite needs CELERY_BROKER_URL=redis://... (see .ci/run).")


def worker_env(**extra: str) -> dict:
    """This process's environment with DATABASE_URL pointing at pytest-django's test database."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env.update(extra)
    return env


@contextmanager
def celery_worker(*, env: dict, log: Path, name: str, queue: str | None = None):
    """A real `celery worker` (prefork, 2 children), yielded once it answers a ping; stopped with its children.

    `queue`: consume only that queue (a test that needs a differently configured worker routes
    its tasks there, so the session's worker never takes them).
    """
    from creativeadmin.celery import app

    node = f"{name}@{socket.gethostname()}"
    cmd = [sys.executable, "-m", "celery", "-A", "creativeadmin", "worker", "--pool=prefork", "--concurrency=2"]
    cmd += ["--loglevel=INFO", "--without-gossip", "--without-mingle", "-n", node]
    if queue:
        cmd += ["-Q", queue]
    proc = start_process_group(cmd, env=env, log=log)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"celery worker exited with {proc.returncode}:\n{log.read_text()}")
            if env.get("CELERY_BROKER_URL", settings.CELERY_BROKER_URL) != settings.CELERY_BROKER_URL:
                # A broker of the test's own: this process cannot ping through it; the worker says when it is ready.
                if " ready." in log.read_text():
                    break
                time.sleep(0.5)
            elif app.control.ping(destination=[node], timeout=1.0):
                break
        else:
            pytest.fail(f"celery worker did not answer a ping within 60 s:\n{log.read_text()}")
        proc.log_path = log  # tests read what the worker logged
        yield proc
    finally:
        stop_process_group(proc)


@contextmanager
def generation_routed_to(queue: str):
    """Send generation tasks enqueued by this process to `queue` (a worker started with `queue=`) meanwhile."""
    from creativeadmin.celery import app

    routes = app.conf.task_routes
    app.conf.update(task_routes={"campaigns.tasks.generate_product_set": {"queue": queue}})
    try:
        yield
    finally:
        app.conf.update(task_routes=routes)


@pytest.fixture(scope="session")
def celery_worker_process(real_services, django_db_setup, django_db_blocker, tmp_path_factory):
    """Start `celery worker` against the test database; stop it (and its children) at the end."""
    from creativeadmin.celery import app

    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with app.connection_for_write() as conn:  # drop tasks left over by an earlier run
        app.amqp.TaskConsumer(conn).purge()
    with celery_worker(env=worker_env(), log=log, name=f"itest-{os.getpid()}") as proc:
        yield proc
