"""The analytics app's exceptions: a leaf module, so any of its modules can raise them without importing another."""

from creativeadmin.errors import ApplicationError


class TrackingRejected(ApplicationError):
    default_code = "bad_token"


class NotEnoughData(Exception):
    pass
