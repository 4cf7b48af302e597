"""creativeadmin.background: the embedded default's in-process worker runs work off the request's thread,
once per key, and survives a failing piece of work.

(It closes its thread's database connections when a piece of work ends; the tests' in-memory SQLite
ignores a close, so that part is not asserted here.)"""

import threading

from creativeadmin.background import background_running, background_submit, background_wait


def test_work_runs_on_another_thread_and_the_submit_returns_at_once():
    release, seen = threading.Event(), []

    def work():
        release.wait(timeout=10)
        seen.append(threading.current_thread().name)

    assert background_submit("job-a", work) is True
    assert seen == [] and background_running("job-a")  # the caller did not wait for it
    release.set()
    assert background_wait(timeout=10)
    assert seen and seen[0].startswith("creative-background") and not background_running("job-a")


def test_a_key_already_queued_is_not_queued_twice():
    release, runs = threading.Event(), []

    def work():
        release.wait(timeout=10)
        runs.append(1)

    first = background_submit("job-b", work)
    second = background_submit("job-b", work)
    release.set()
    assert background_wait(timeout=10)

    assert (first, second, runs) == (True, False, [1])


def test_failing_work_is_logged_and_frees_its_key(caplog):
    def work():
        raise RuntimeError("boom")

    background_submit("job-c", work)
    assert background_wait(timeout=10)

    assert "Background work 'job-c' failed" in caplog.text and "boom" in caplog.text
    assert background_submit("job-c", lambda: None) is True  # may run again
    assert background_wait(timeout=10)
