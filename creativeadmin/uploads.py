"""The ceiling on any one uploaded file, enforced while the request body is read.

Django streams uploads over FILE_UPLOAD_MAX_MEMORY_SIZE to temporary files; without a ceiling
a client could still fill the disk with one request before any view looks at the file. This
handler runs first in FILE_UPLOAD_HANDLERS and stops the upload as soon as one file passes
CREATIVE_MAX_UPLOAD_BYTES (the largest thing any form accepts): what was written is removed and
the request is refused (Django answers 400, as for its other request-size limits). Each kind's
own, smaller limit is checked by its service as the file is read (templates_app.services).
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler


class UploadTooLarge(RequestDataTooBig):
    """An uploaded file passed CREATIVE_MAX_UPLOAD_BYTES while it was being received."""


class UploadSizeLimitHandler(FileUploadHandler):
    """Passes every chunk on to the next handler, counting; stops the request past the ceiling."""

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        limit = settings.CREATIVE_MAX_UPLOAD_BYTES
        if start + len(raw_data) > limit:
            # The parser only closes finished files on an error: close the one being written, which
            # removes Django's temporary file for it, before refusing.
            for handler in self.request.upload_handlers:
                partial = getattr(handler, "file", None)
                if partial is not None:
                    partial.close()
            raise UploadTooLarge(f"{self.file_name}: an uploaded file may be at most {limit:,} bytes.")
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler makes the file
