"""The templates app's exceptions: a leaf module, so services and the PSD import need not import each other."""

from creativeadmin.errors import ApplicationError


class UploadRejected(ApplicationError):
    default_code = "upload_rejected"


class TemplateRejected(ApplicationError):
    default_code = "invalid_template"


class PreviewRejected(ApplicationError):
    default_code = "preview_rejected"
