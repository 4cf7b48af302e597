"""The campaigns app's exceptions: a leaf module, so any of its modules can raise them without importing another."""

from creativeadmin.errors import ApplicationError


class ProductRejected(ApplicationError):
    default_code = "product_rejected"


class CampaignNotReady(ApplicationError):
    default_code = "campaign_not_ready"


class WebhookFailed(Exception):
    """The receiver did not answer 2xx (or could not be reached); the task retries with backoff."""


class ImportRejected(ApplicationError):
    """The whole file is unusable (not UTF-8, columns missing, an unsafe zip): nothing was imported."""

    default_code = "import_rejected"


class PlacementPaused(ApplicationError):
    status_code = 403
    default_code = "placement_paused"


class PlacementKeyInvalid(ApplicationError):
    status_code = 401
    default_code = "invalid_key"


class WebhookUndeliverable(Exception):
    """One delivery attempt failed; `code` is what is stored on the job (never the receiver's own answer).

    Codes: `destination_not_allowed` (the URL is unusable, or its host resolves to no address or
    to one that is not public), `unreachable` (no connection, TLS failure, timeout), `not_accepted`
    (the receiver answered something other than 2xx; a redirect counts, it is not followed).
    """

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class CreativeFilterInvalid(ApplicationError):
    """A filter of creatives is malformed (`extra["fields"]` names each): refused rather than dropped, since a
    bulk review by filter would otherwise change more creatives than asked."""

    default_code = "invalid_filter"
