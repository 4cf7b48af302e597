"""`manage.py storage_ready`: wait until media storage answers, creating the S3 bucket if asked."""

import time

from django.core.management.base import BaseCommand, CommandError

from health.services import _check, _storage, storage_bucket_ensure


class Command(BaseCommand):
    help = "Wait until media storage accepts a write (and, with --create-bucket, create a missing S3 bucket)."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=30.0, help="seconds to keep trying")
        parser.add_argument("--create-bucket", action="store_true", help="create the bucket if it does not exist")

    def handle(self, *args, wait: float, create_bucket: bool, **options):
        deadline = time.monotonic() + wait
        while True:
            if create_bucket:
                _check(storage_bucket_ensure)
            result = _check(_storage)
            if result["ok"]:
                self.stdout.write(f"Storage ready ({result.get('detail', '')}).")
                return
            if time.monotonic() > deadline:
                raise CommandError(f"Storage did not answer within {wait:g} s: {result['error']}")
            time.sleep(0.5)
