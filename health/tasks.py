"""A probe task: proves a worker consumes from the broker, and exercises retries.

`fail_first` makes the probe raise on its first N attempts, so a test (or an operator)
can watch the retry policy work and a task end up recorded as failed.
"""

import socket

from celery import shared_task


class ProbeFailure(RuntimeError):
    """Raised on purpose by the probe to exercise retries."""


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(ProbeFailure,),
    max_retries=2,
    retry_backoff=0.2,
    retry_backoff_max=1,
    retry_jitter=False,
)
def probe(self, fail_first: int = 0) -> dict:
    if self.request.retries < fail_first:
        raise ProbeFailure(f"probe failing on purpose (attempt {self.request.retries + 1} of {fail_first})")
    return {"hostname": socket.gethostname(), "attempts": self.request.retries + 1}
