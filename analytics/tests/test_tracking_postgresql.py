"""The pixel's insert on real PostgreSQL (run by .ci/run's integration suite): it commits without
waiting for the WAL flush, for its own transaction only, so every other write on the connection
keeps PostgreSQL's full durability."""

import pytest
from django.db import connection, transaction

from analytics.models import Event
from analytics.services.tracking import event_record

from .test_tracking import BROWSER

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        return cursor.fetchone()[0]


def test_a_pixel_commits_asynchronously_and_the_setting_ends_with_its_transaction(served):
    assert connection.vendor == "postgresql"
    with transaction.atomic():
        recorded = event_record(token=served.impression_token, kind="impression", user_agent=BROWSER)
        assert _synchronous_commit() == "off"  # the insert's transaction commits without the flush
    assert recorded.stored
    assert _synchronous_commit() == "on"  # ...and the next transaction on the connection waits again

    click = event_record(token=served.click_token, kind="click", user_agent=BROWSER)  # autocommit, as a request runs
    assert click.stored and _synchronous_commit() == "on"
    assert Event.objects.filter(kind__in=["impression", "click"]).count() == 2


def test_with_async_commit_off_the_pixel_waits_for_the_flush(served, settings):
    settings.TRACKING_ASYNC_COMMIT = False
    with transaction.atomic():
        event_record(token=served.impression_token, kind="impression", user_agent=BROWSER)
        assert _synchronous_commit() == "on"
    assert Event.objects.filter(kind="impression").count() == 1
