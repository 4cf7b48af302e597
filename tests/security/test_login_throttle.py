"""The admin's login throttle holds under concurrent attempts: the count is taken atomically before any
password is checked, so the attempts past LOGIN_FAILURE_LIMIT are refused however many arrive at once.

The password check is slowed down here (a wrapped ModelBackend.authenticate) so that every
concurrent request is in flight together, as with a real attacker and a real password hasher.
"""

import threading
import time

import pytest
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.test import Client

LOGIN = "/admin/login/"
LOCKED = "Too many failed logins for this username from your address"
RIGHT = "pw-designer"


@pytest.fixture
def staff_user(django_user_model):
    """A staff login with no role (a transactional test's database starts without the role groups)."""
    return django_user_model.objects.create_user(username="designer", password=RIGHT, is_staff=True)


@pytest.fixture
def password_checks(monkeypatch):
    """The passwords the backend checked, each check held for a while (wrong ones until `release` is set)."""
    checked: list[str] = []
    lock = threading.Lock()
    limit_reached, release = threading.Event(), threading.Event()
    original = ModelBackend.authenticate

    def slow_authenticate(self, request, username=None, password=None, **kwargs):
        with lock:
            checked.append(password)
            if len(checked) >= settings.LOGIN_FAILURE_LIMIT:
                limit_reached.set()
        if password != RIGHT:
            release.wait(timeout=10)  # a wrong password's failure is not recorded before the test allows it
        time.sleep(0.05)
        return original(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", slow_authenticate)
    return checked, limit_reached, release


def _attempt(password: str, results: list, start: threading.Barrier | None = None) -> None:
    client = Client()
    try:
        if start is not None:
            start.wait(timeout=10)
        response = client.post(LOGIN, {"username": "designer", "password": password, "next": "/admin/"})
        # A session cookie only comes with a login (reading client.session would write one of its own).
        logged_in = settings.SESSION_COOKIE_NAME in client.cookies
        results.append((password, response.status_code, response.content.decode(), logged_in))
    finally:
        connection.close()  # each thread has its own database connection


def _threads(target, n: int, *args) -> list[threading.Thread]:
    threads = [threading.Thread(target=target, args=args) for _ in range(n)]
    for thread in threads:
        thread.start()
    return threads


@pytest.mark.django_db(transaction=True)
def test_thirty_concurrent_wrong_passwords_check_only_the_limit(staff_user, password_checks):
    """Of 30 wrong passwords sent at once, exactly LOGIN_FAILURE_LIMIT are checked; the rest are refused
    with the lock-out message before their password is looked at."""
    checked, _, release = password_checks
    release.set()
    results: list = []
    start = threading.Barrier(30)

    for thread in _threads(_attempt, 30, "wrong", results, start):
        thread.join(timeout=60)

    assert len(results) == 30
    assert len(checked) == settings.LOGIN_FAILURE_LIMIT
    assert sum(LOCKED in content for _, _, content, _ in results) == 30 - settings.LOGIN_FAILURE_LIMIT
    assert not any(logged_in for *_, logged_in in results)


@pytest.mark.django_db(transaction=True)
def test_the_right_password_among_concurrent_wrong_ones_past_the_limit_is_refused(staff_user, password_checks):
    """19 wrong passwords in flight and then the right one: the right one is the 20th attempt, past the
    limit, so it is refused unchecked even though no failure has been recorded yet."""
    checked, limit_reached, release = password_checks
    results: list = []
    wrong = _threads(_attempt, 19, "wrong", results)
    assert limit_reached.wait(timeout=20)  # the first attempts are being checked (and not yet failed)

    right: list = []
    _attempt(RIGHT, right)
    release.set()
    for thread in wrong:
        thread.join(timeout=60)

    (_, status, content, logged_in) = right[0]
    assert status == 200 and LOCKED in content and not logged_in
    assert RIGHT not in checked
    assert len(checked) == settings.LOGIN_FAILURE_LIMIT
