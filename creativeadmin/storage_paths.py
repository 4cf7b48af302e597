"""The one way uploaded and generated files are named in storage.

Names are content-addressed (`<prefix>/<sha256[:2]>/<sha256>.<ext>`), so the same bytes
are stored once, a re-run of a task writes to the same key, and names leak nothing the
uploader typed.
"""

import hashlib


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_addressed_name(prefix: str, data: bytes, extension: str) -> str:
    digest = sha256_hex(data)
    extension = extension.lower().lstrip(".")
    return f"{prefix}/{digest[:2]}/{digest}.{extension}"
