"""Writes for the campaigns app, one module per subdomain.

- products: a product upserted with its main image;  importing: bulk product import (CSV + zip, JSON)
- jobs: generation jobs started, resumed and marked;  generation: one product set's creatives made
- webhooks: a finished job's webhook delivered, a test ping, the secret rotated
- lifecycle: review, go live, pause, end, reopen, delete; placements archived or deleted
- pools: product pools' interest scores;  renders: signed render links of a template with products

This package re-exports the services the rest of the project calls (views, admin, the API,
other apps, the demo); a module's private helpers are imported from the module itself.
"""

from .generation import creatives_generate_for_product_set
from .importing import BULK_MAX_ITEMS, ImportReport, products_import, products_import_json
from .jobs import (
    campaign_product_sets,
    campaign_sizes,
    generation_job_resume_orphaned,
    generation_job_start,
    generation_jobs_resume,
    product_set_failed,
)
from .lifecycle import (
    campaign_delete,
    campaign_end,
    campaign_go_live,
    campaign_pause,
    campaign_reopen,
    creatives_review,
    placement_archive,
    placement_delete,
    placement_unarchive,
)
from .pools import POOL_SCORES_MAX, pool_scores_size_check, pool_scores_upsert
from .products import PRODUCT_IMAGES_MAX, product_image_check, product_images_set, product_upsert
from .renders import RENDER_TOKEN_SALT, render_by_token, render_token_make
from .webhooks import (
    campaign_webhook_ping,
    campaign_webhook_secret_rotate,
    job_webhook_send,
    webhook_give_up,
    webhook_signature,
)

__all__ = [
    "BULK_MAX_ITEMS",
    "PRODUCT_IMAGES_MAX",
    "POOL_SCORES_MAX",
    "ImportReport",
    "campaign_delete",
    "campaign_end",
    "campaign_go_live",
    "campaign_pause",
    "campaign_product_sets",
    "campaign_reopen",
    "campaign_webhook_ping",
    "campaign_webhook_secret_rotate",
    "campaign_sizes",
    "creatives_generate_for_product_set",
    "creatives_review",
    "generation_job_resume_orphaned",
    "generation_job_start",
    "generation_jobs_resume",
    "job_webhook_send",
    "placement_archive",
    "placement_delete",
    "placement_unarchive",
    "pool_scores_size_check",
    "pool_scores_upsert",
    "product_set_failed",
    "product_image_check",
    "product_images_set",
    "product_upsert",
    "RENDER_TOKEN_SALT",
    "render_by_token",
    "render_token_make",
    "products_import",
    "products_import_json",
    "webhook_give_up",
    "webhook_signature",
]
