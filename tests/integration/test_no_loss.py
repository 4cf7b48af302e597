"""No acknowledged event is lost or counted twice, through a web server crash and worker kills.

N events (10% of them duplicates by id, 5% of the unique ones from bots, 2% replaying a
counted event's token under a new id) go to the real web server (gunicorn) as pixel requests
and batches, each request retried until it is acknowledged, as a placement's client does.
Meanwhile the rollup worker (a real `celery worker`) is SIGKILLed twice and the web server
SIGKILLed and restarted once. Afterwards the stored counts (the daily rollups, once the rollup
task has run on the worker) equal the unique valid events exactly, every unique event is
counted once in the gross counts, and every token replay is stored but not counted.

N is 10,000 here to keep CI short (NO_LOSS_EVENTS changes it); the benchmark
(`python -m bench.ingestion`) runs the same with 100,000 and prints "events lost".
"""

import os

import pytest
from django.conf import settings

from bench.ingestion import NoLossStack, no_loss_campaign, no_loss_counts, no_loss_run, no_loss_workload

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PORT = 18520


@pytest.fixture
def stack(real_services, tmp_path):
    """gunicorn and a rollup worker on the test database, each in its own process group."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        SECRET_KEY=settings.SECRET_KEY,  # the tokens are signed here
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        DB_CONN_MAX_AGE="60",
    )
    stack = NoLossStack(env=env, port=PORT, logs=tmp_path, queue=f"no-loss-{os.getpid()}")
    stack.web_start()
    try:
        stack.worker_start()
        yield stack
    finally:
        stack.stop()


def test_every_acknowledged_event_is_counted_once_through_crashes(stack):
    placement, key = no_loss_campaign()
    workload = no_loss_workload(placement=placement, key=key, n=int(os.environ.get("NO_LOSS_EVENTS", "10000")))

    report = no_loss_run(workload, stack=stack)

    assert (report.worker_kills, report.web_restarts) == (2, 1)
    assert all(acked < report.requests for acked in report.acked_at_disruptions)  # each one during the run
    assert no_loss_counts(placement) == {
        "impressions": workload.expected["impressions"],
        "impressions_gross": workload.expected["impressions_gross"],
        "clicks": workload.expected["clicks"],
        "clicks_gross": workload.expected["clicks_gross"],
        "replays": workload.expected["replays"],
    }
