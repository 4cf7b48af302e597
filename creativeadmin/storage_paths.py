"""The one way uploaded and generated files are named in storage.

Names are content-addressed (`<prefix>/<sha256[:2]>/<sha256>.<ext>`), so the same bytes
are stored once, a re-run of a task writes to the same key, and names leak nothing the
uploader typed.
"""

import hashlib
from contextlib import contextmanager


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_addressed_name(prefix: str, data: bytes, extension: str) -> str:
    return digest_name(prefix, sha256_hex(data), extension)


def digest_name(prefix: str, digest: str, extension: str) -> str:
    """The content-addressed name of content whose SHA-256 (hex) is already known (a file hashed as it was read)."""
    extension = extension.lower().lstrip(".")
    return f"{prefix}/{digest[:2]}/{digest}.{extension}"


def stored_once(storage, name: str, content) -> tuple[str, bool]:
    """Store `content` under exactly `name` unless storage holds that name already: (name, whether this wrote it).

    A content-addressed name means its content, so saving it again would only add a copy under a
    suffixed name (Django's storages never overwrite). Two writers racing for one name both end
    on it: the later one's suffixed copy is removed.
    """
    if storage.exists(name):
        return name, False
    saved = storage.save(name, content)
    if saved != name:  # stored meanwhile by another writer: keep theirs, drop ours
        storage.delete(saved)
        return name, False
    return name, True


class StorageUnavailable(OSError):
    """Storage answered with a transient failure (S3 5xx, throttling, no connection): worth retrying.

    An OSError, so the tasks' retry policy (autoretry on OSError, with backoff) covers it like a
    local disk hiccup; validation errors are never OSErrors and are never retried.
    """


@contextmanager
def transient_storage_errors():
    """Turn S3's transient failures (5xx, SlowDown, connection errors) into StorageUnavailable."""
    try:
        yield
    except Exception as exc:
        try:
            from botocore.exceptions import ClientError
            from botocore.exceptions import ConnectionError as BotoConnectionError
        except ImportError:  # no S3 client installed: nothing to translate
            raise exc from None
        if isinstance(exc, BotoConnectionError):
            raise StorageUnavailable(f"Storage unreachable: {exc}") from exc
        if isinstance(exc, ClientError):
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            code = exc.response.get("Error", {}).get("Code", "")
            if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"):
                raise StorageUnavailable(f"Storage answered {status} {code}") from exc
        raise
