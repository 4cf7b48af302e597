"""Product pools: the recommender's interest scores per product and audience segment, upserted in bulk."""

import math

from django.db import transaction

from creativeadmin.errors import ApplicationError, PayloadTooLarge

from ..models import (
    PoolEntry,
    Product,
    ProductPool,
)
from ..serving import serving_changed

POOL_SCORES_MAX = 10_000


def pool_scores_size_check(*, count: int) -> None:
    """PayloadTooLarge (413) past POOL_SCORES_MAX rows, so an oversized request is refused before its rows are read."""
    if count > POOL_SCORES_MAX:
        raise PayloadTooLarge(
            f"At most {POOL_SCORES_MAX:,} scores per request; this one has {count:,}.",
            extra={"max_rows": POOL_SCORES_MAX},
        )


def pool_scores_upsert(*, pool: ProductPool, rows: list[dict]) -> dict:
    """Upsert interest scores {sku, segment, score} as the recommender recomputes them.

    Returns {"upserted": n, "unknown_skus": [...]}; rows naming unknown products are skipped, and
    the last score for a (product, segment) in the request wins. One bulk statement; serving's
    cached rankings are dropped everywhere (the next serve computes them once).
    Raises PayloadTooLarge past POOL_SCORES_MAX rows, ApplicationError for a score that is not a
    finite number or a segment over 64 characters.
    """
    pool_scores_size_check(count=len(rows))
    skus = {str(r["sku"]) for r in rows}
    ids = dict(Product.objects.filter(sku__in=skus).values_list("sku", "pk"))
    entries = {}
    for index, r in enumerate(rows):
        score, segment = float(r["score"]), str(r.get("segment") or "")
        if not math.isfinite(score) or len(segment) > 64:
            raise ApplicationError(
                f"Row {index}: the score must be a finite number and the segment at most 64 characters.",
                code="invalid_score",
                extra={"row": index},
            )
        if str(r["sku"]) in ids:
            entries[(ids[str(r["sku"])], segment)] = score
    PoolEntry.objects.bulk_create(
        [PoolEntry(pool=pool, product_id=p, segment=s, interest=v) for (p, s), v in entries.items()],
        update_conflicts=True,
        unique_fields=["pool", "product", "segment"],
        update_fields=["interest", "updated_at"],
    )
    # Serving drops its cached rankings now, and again once a caller's transaction commits (a
    # ranking recomputed in between would not have seen the new scores).
    serving_changed()
    transaction.on_commit(serving_changed)
    return {"upserted": len(entries), "unknown_skus": sorted(skus - set(ids))}
