"""The Celery application shared by the web process and the workers.

With CELERY_BROKER_URL unset, settings make every task run eagerly in-process, so the
demo needs no broker (generation jobs then run on a background thread, CREATIVE_JOBS_IN_BACKGROUND);
with it set, tasks go through the broker to `celery worker`.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creativeadmin.settings")

app = Celery("creativeadmin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
