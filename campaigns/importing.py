"""Bulk product import: a CSV plus a zip of images, or JSON rows, with a report per row.

Good rows are imported, bad rows are reported (row number, sku, field, message), and a row
is never half-written: `product_upsert` validates the fields and the image before it writes
the file and the row together. The zip is read in memory, entry by entry with size limits,
never extracted: names that try to leave the archive, too many entries, or an uncompressed
total over the limit are refused before any image is decoded.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath

from creativeadmin.errors import ApplicationError

from .models import Product
from .services import ProductRejected, product_upsert

REQUIRED_COLUMNS = ("sku", "title", "price", "image")
OPTIONAL_COLUMNS = ("category", "currency", "highlights")  # highlights: "|"-separated selling points
MAX_ROWS = 10_000
ZIP_MAX_ENTRIES = 10_000
ZIP_MAX_TOTAL = 1024 * 1024 * 1024  # uncompressed bytes
ZIP_MAX_ENTRY = 25 * 1024 * 1024


class ImportRejected(ApplicationError):
    default_code = "import_rejected"


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row (the CSV header is row 0), or the index + 1 of a JSON item
    sku: str
    field: str
    message: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "errors": [e.__dict__ for e in self.errors],
        }


def _zip_images(data: bytes) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise ImportRejected("The images file is not a zip archive.", code="bad_zip") from exc
    entries = [info for info in archive.infolist() if not info.is_dir()]
    if len(entries) > ZIP_MAX_ENTRIES:
        raise ImportRejected(f"The zip has {len(entries)} files; at most {ZIP_MAX_ENTRIES}.", code="zip_too_many")
    total = sum(info.file_size for info in entries)
    if total > ZIP_MAX_TOTAL:
        raise ImportRejected(f"The zip unpacks to {total:,} bytes; at most {ZIP_MAX_TOTAL:,}.", code="zip_too_large")
    images: dict[str, bytes] = {}
    for info in entries:
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or info.file_size > ZIP_MAX_ENTRY:
            continue  # never read: rows naming it get "not in the zip"
        try:
            with archive.open(info) as member:
                images[str(path)] = member.read(ZIP_MAX_ENTRY)
        except (zipfile.BadZipFile, OSError, EOFError):
            continue  # a damaged entry: rows naming it get "not in the images"
    return images


def _rows_from_csv(data: bytes) -> list[dict]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected(f"The CSV is not UTF-8 (byte {exc.start}).", code="csv_encoding") from exc
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ImportRejected(
            f"The CSV lacks the column(s) {', '.join(missing)}; nothing was imported.",
            code="csv_columns",
            extra={"missing": missing, "required": list(REQUIRED_COLUMNS)},
        )
    rows = []
    for raw in reader:
        rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k})
        if len(rows) > MAX_ROWS:
            raise ImportRejected(f"At most {MAX_ROWS} products per import.", code="too_many_rows")
    return rows


def _import_rows(
    rows: list[dict], image_for: Callable[[str], bytes | None], *, missing_image: str = "{name!r} is not in the images."
) -> ImportReport:
    report = ImportReport()
    counts = Counter(r.get("sku", "") for r in rows)
    existing = set(Product.objects.filter(sku__in=list(counts)).values_list("sku", flat=True))
    for number, row in enumerate(rows, start=1):
        sku = row.get("sku", "")

        def error(field_name: str, message: str, number=number, sku=sku) -> None:
            report.errors.append(RowError(number, sku, field_name, message))

        if not sku:
            error("sku", "Missing.")
            continue
        if counts[sku] > 1:
            error("sku", f"Appears {counts[sku]} times in this import; none of them was imported.")
            continue
        if not row.get("title"):
            error("title", "Missing.")
            continue
        try:
            price = Decimal(str(row.get("price", "")).replace(",", ""))
            if price < 0 or not price.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            error("price", f"Not a price: {row.get('price')!r}.")
            continue
        image = image_for(row.get("image", ""))
        if image is None:
            error("image", missing_image.format(name=row.get("image", "")))
            continue
        highlights = row.get("highlights", [])
        if isinstance(highlights, str):
            highlights = [h.strip() for h in highlights.split("|") if h.strip()]
        try:
            product_upsert(
                sku=sku,
                title=row["title"],
                price=price,
                image_data=image,
                category=row.get("category", ""),
                highlights=highlights,
                currency=row.get("currency") or "CNY",
            )
        except ProductRejected as exc:
            fields = (exc.extra or {}).get("fields")
            error(next(iter(fields)) if fields else "image", exc.message)
            continue
        if sku in existing:
            report.updated += 1
        else:
            report.created += 1
            existing.add(sku)
    return report


def products_import(*, csv_data: bytes, images_zip: bytes | None = None) -> ImportReport:
    """Import a CSV (columns sku, title, price, image, and optionally category, currency, highlights)
    whose `image` column names files in `images_zip`. ImportRejected for a file that cannot be
    read at all (nothing imported); otherwise a report of what was created, updated and refused.
    """
    rows = _rows_from_csv(csv_data)
    images = _zip_images(images_zip) if images_zip else {}
    return _import_rows(rows, lambda name: images.get(str(PurePosixPath(name.replace("\\", "/")))))


def products_import_json(*, items: Iterable[dict], images: list[bytes | None]) -> ImportReport:
    """Import JSON items (the API's bulk endpoint): item i's image is images[i] (decoded base64 or None)."""
    rows = [{**item, "image": str(i)} for i, item in enumerate(items)]
    return _import_rows(
        rows,
        lambda name: images[int(name)] if name.isdigit() and int(name) < len(images) else None,
        missing_image="Missing, or not valid base64.",
    )
