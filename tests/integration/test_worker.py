"""Tasks go through Redis to a real worker; failing tasks are retried, then recorded as failed."""

import time

import pytest
from django_celery_results.models import TaskResult

from health.tasks import probe

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _wait_for_result(task_id: str, timeout: float = 60) -> TaskResult:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = TaskResult.objects.filter(task_id=task_id, status__in=["SUCCESS", "FAILURE"]).first()
        if row:
            return row
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} did not finish within {timeout} s")


def test_worker_completes_a_task_enqueued_through_redis(celery_worker_process):
    result = probe.delay()

    assert result.get(timeout=60)["attempts"] == 1
    assert _wait_for_result(result.id).status == "SUCCESS"


def test_task_that_fails_transiently_is_retried_and_then_succeeds(celery_worker_process):
    result = probe.delay(fail_first=2)

    assert result.get(timeout=60)["attempts"] == 3


def test_task_that_keeps_failing_is_retried_then_recorded_as_failed(celery_worker_process):
    result = probe.delay(fail_first=10)

    row = _wait_for_result(result.id)

    assert row.status == "FAILURE"
    assert "ProbeFailure" in row.result
    assert "attempt 3 of 10" in row.result  # max_retries=2: three attempts in all, then given up


def test_health_reports_the_real_broker(client, celery_worker_process):
    body = client.get("/api/v1/health/").json()

    assert body["ok"] is True
    assert body["checks"]["broker"]["detail"] == "reachable"
    assert body["checks"]["database"]["detail"] == "postgresql"
    assert body["checks"]["workers"]["detail"].startswith("1 answering: itest-")
