"""Writes and previews for the templates app, one module per concern.

- material: fonts, assets, footage and brands, each upload checked before it is stored
- specs: a template spec checked by the engine's parser
- templates: templates created, versioned, published, archived, duplicated, imported from PSD
- previews: the preview sheet, a version rendered with given product images, the editor's preview

Re-exported here: what views, the admin, other apps, the demo and the benchmarks call.
"""

from .material import asset_check, asset_create, brand_upsert, font_check, font_register, image_file_reencoded
from .previews import (
    EDITOR_SIZES,
    SHEET_COPY,
    SHEET_SIZES,
    SheetCell,
    template_design_preview,
    template_preview,
    template_preview_sheet,
)
from .specs import template_spec_check
from .templates import (
    template_archive,
    template_create,
    template_duplicate,
    template_editor_save,
    template_import_psd,
    template_publish,
    template_version_restore,
    template_version_save,
)

__all__ = [
    "EDITOR_SIZES",
    "SHEET_COPY",
    "SHEET_SIZES",
    "SheetCell",
    "asset_check",
    "asset_create",
    "brand_upsert",
    "font_check",
    "font_register",
    "image_file_reencoded",
    "template_archive",
    "template_create",
    "template_design_preview",
    "template_duplicate",
    "template_editor_save",
    "template_import_psd",
    "template_preview",
    "template_preview_sheet",
    "template_publish",
    "template_spec_check",
    "template_version_restore",
    "template_version_save",
]
