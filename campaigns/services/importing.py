"""Bulk product import: a CSV plus a zip of images, or JSON items, with a report per row.

Good rows are imported, bad rows are reported ({row, sku, field, message}), and a row is never
half-written: `product_upsert` checks the fields and the image before it stores the file and
the row together. The zip is read in memory, one named entry at a time, never extracted: an
archive listing too many entries (checked before its directory is parsed), names that would
leave it, or an uncompressed total over the limit is refused whole, before any image is decoded.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import logging
import lzma
import re
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from typing import IO, TypedDict

from django.db import IntegrityError, transaction

from creativeadmin.errors import PayloadTooLarge

from ..errors import ImportRejected, ProductRejected
from ..models import Product
from .products import product_images_set, product_upsert

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("sku", "title", "price", "image")
OPTIONAL_COLUMNS = (
    "category",
    "currency",
    "highlights",
    "short_title",
    "badge",
)  # highlights: "|"-separated selling points
# Rows are imported in the request (the admin page, the API), each image decoded once: ~5-20 ms a
# row, so 1,000 rows stay well inside a web worker's timeout. Larger catalogues go in several files.
MAX_ROWS = 1000
CSV_MAX_BYTES = 5 * 1024 * 1024
IMAGE_MAX_BYTES = 25 * 1024 * 1024  # one product photo, in the zip or as base64
ZIP_MAX_ENTRIES = 5000  # room for 1,000 images, their folders and the __MACOSX copies a Mac adds
ZIP_MAX_DIRECTORY_BYTES = 2 * 1024 * 1024  # bounds what listing the archive costs, whatever its header says
ZIP_MAX_TOTAL = 1024 * 1024 * 1024  # uncompressed bytes, declared and read
BULK_MAX_ITEMS = 1000
_UNREADABLE_ENTRY = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError, NotImplementedError)


class RowError(TypedDict):
    row: int  # CSV: the line in the file (the header is line 1); JSON: the item's index in the list
    sku: str
    field: str  # the CSV column or JSON key at fault
    message: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def refused(self) -> int:
        """Rows refused (a row with several bad fields has an error for each)."""
        return len({e["row"] for e in self.errors})

    def as_dict(self) -> dict:
        return asdict(self)


class _RowProblem(Exception):
    """Why a row is refused: one (field, message), or one per bad field."""

    def __init__(self, field_name: str = "", message: str = "", *, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.problems = [(name, " ".join(messages)) for name, messages in (fields or {field_name: [message]}).items()]


def products_import(csv_file: IO[bytes] | bytes, images_zip: IO[bytes] | bytes | None = None, *, user) -> ImportReport:
    """Import a CSV (columns sku, title, price, image; optional category, currency, short_title, badge,
    highlights as `a|b`, scene_images and detail_images as `a.jpg|b.jpg`) whose image columns name files
    in `images_zip`; an existing sku is updated, an empty image cell keeps its stored image, and empty
    scene and detail cells keep the product's further photos.

    Raises ImportRejected, with nothing imported, for a file that cannot be used at all (too big,
    not UTF-8, required columns missing, more than MAX_ROWS rows, an unreadable or unsafe zip).
    `user` needs campaigns.change_product for rows that update an existing product (None: a
    trusted caller such as a management command).
    """
    rows = _csv_rows(_read_at_most(_as_file(csv_file), CSV_MAX_BYTES, "The CSV"))
    archive = _ZipImages(_as_file(images_zip)) if images_zip is not None else None

    def image_for(fields: dict) -> bytes | None:
        name = fields.get("image", "")
        if not name:
            return None
        if archive is None:
            raise _RowProblem("image", f"{name!r} names an image, but no zip of images was uploaded.")
        return archive.read(name)

    def images_for(fields: dict) -> list[tuple[str, bytes]] | None:
        """The further photos the row names ("a.jpg|b.jpg" per kind); None when it names none (kept)."""
        named = [
            (kind, name.strip())
            for kind in ("scene", "detail")
            for name in fields.get(f"{kind}_images", "").split("|")
            if name.strip()
        ]
        if not named:
            return None
        if archive is None:
            raise _RowProblem("scene_images", "The row names further images, but no zip of images was uploaded.")
        return [(kind, archive.read(name)) for kind, name in named]

    return _import_rows(rows, image_for, user=user, source="CSV", images_for=images_for)


def products_import_json(items: Iterable, *, user) -> ImportReport:
    """Import JSON items (the API's bulk endpoint): sku, title, price, optionally category, currency,
    highlights (a list) and image (base64; omitted keeps an existing product's image). The report's
    `row` is the item's index. PayloadTooLarge past BULK_MAX_ITEMS items.
    """
    items = list(items)
    if len(items) > BULK_MAX_ITEMS:
        raise PayloadTooLarge(
            f"At most {BULK_MAX_ITEMS} products per request; this one has {len(items)}.",
            extra={"max_items": BULK_MAX_ITEMS},
        )
    return _import_rows(list(enumerate(items)), _base64_image, user=user, source="JSON", images_for=_base64_images)


def _as_file(source: IO[bytes] | bytes) -> IO[bytes]:
    return io.BytesIO(source) if isinstance(source, bytes | bytearray) else source


def _read_at_most(file: IO[bytes], limit: int, what: str) -> bytes:
    data = file.read(limit + 1)
    if len(data) > limit:
        raise ImportRejected(f"{what} is larger than {limit // 2**20} MB; split it.", code="file_too_large")
    return data


def _csv_rows(data: bytes) -> list[tuple[int, dict]]:
    """(line number, {column: stripped text}) per data row; ImportRejected for an unusable file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected(
            f'The CSV is not UTF-8 (byte {exc.start} cannot be decoded); save it as "CSV UTF-8".',
            code="csv_encoding",
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [c.strip().lower() for c in next(reader, [])]
        duplicated = sorted({c for c in header if c and header.count(c) > 1})
        if duplicated:
            raise ImportRejected(
                f"The CSV has the column(s) {', '.join(duplicated)} more than once; nothing was imported.",
                code="csv_columns",
                extra={"duplicated": duplicated},
            )
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ImportRejected(
                f"The CSV lacks the column(s) {', '.join(missing)}; nothing was imported.",
                code="csv_columns",
                extra={"missing": missing, "required": list(REQUIRED_COLUMNS), "optional": list(OPTIONAL_COLUMNS)},
            )
        rows = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue  # a blank line (spreadsheets leave them at the end)
            if len(rows) == MAX_ROWS:
                raise ImportRejected(
                    f"The CSV has more than {MAX_ROWS} products; import them in several files.", code="too_many_rows"
                )
            fields: dict = {name: value.strip() for name, value in zip(header, values, strict=False) if name}
            fields["highlights"] = [h.strip() for h in fields.get("highlights", "").split("|") if h.strip()]
            rows.append((reader.line_num, fields))
    except csv.Error as exc:
        raise ImportRejected(f"The CSV cannot be read at line {reader.line_num}: {exc}.", code="csv_syntax") from exc
    return rows


def _import_rows(
    rows: list[tuple[int, object]],
    image_for: Callable[[dict], bytes | None],
    *,
    user,
    source: str,
    images_for: Callable[[dict], list[tuple[str, bytes]] | None] = lambda fields: None,
):

    report = ImportReport()
    skus = [_sku(fields) for _, fields in rows]
    counts = Counter(skus)
    looked_up = [s for s in counts if s and not _unstorable(s)]
    existing = set(Product.objects.filter(sku__in=looked_up).values_list("sku", flat=True))
    may_change = user is None or user.has_perm("campaigns.change_product")
    for (number, fields), sku in zip(rows, skus, strict=True):
        try:
            if not isinstance(fields, dict):
                raise _RowProblem("", "Each product is a JSON object.")
            if not sku:
                raise _RowProblem("sku", "Missing, or not text.")
            if problem := _unstorable(sku):
                raise _RowProblem("sku", problem)
            if counts[sku] > 1:
                raise _RowProblem("sku", f"Appears {counts[sku]} times in this import; none of them was imported.")
            if sku in existing and not may_change:
                raise _RowProblem("sku", "This product exists, and you may add products but not change them.")
            values = dict(
                sku=sku,
                title=_text(fields, "title"),
                price=_price(fields.get("price")),
                category=_text(fields, "category"),
                currency=_text(fields, "currency").upper() or "CNY",  # "usd" in a spreadsheet means USD
                highlights=_highlights(fields.get("highlights")),
                short_title=_text(fields, "short_title"),
                badge=_text(fields, "badge"),
                height_cm=_height(fields.get("height_cm")),
            )
            image = image_for(fields)
            images = images_for(fields)
            try:
                with transaction.atomic():  # the product and its further photos land together
                    product = product_upsert(**values, image_data=image)
                    if images is not None:
                        product_images_set(product=product, images=images)
            except ProductRejected as exc:
                raise _RowProblem(fields=exc.extra.get("fields") or {"": [exc.message]}) from exc
            except IntegrityError as exc:  # created by someone else since this row was read
                raise _RowProblem("sku", "Changed by someone else during the import; import this row again.") from exc
            except OSError as exc:  # storage unavailable: nothing of this row was kept
                raise _RowProblem("image", f"Could not be stored ({exc}); import this row again.") from exc
        except _RowProblem as refused:
            report.errors.extend(RowError(row=number, sku=sku, field=f, message=m) for f, m in refused.problems)
            continue
        if sku in existing:
            report.updated += 1
        else:
            report.created += 1
            existing.add(sku)
    logger.info(
        "%s product import by %s: %d created, %d updated, %d refused",
        source,
        getattr(user, "username", "system"),
        report.created,
        report.updated,
        report.refused,
    )
    return report


def _sku(fields) -> str:
    """The row's sku, or "" when it has none (it is reported then)."""
    value = fields.get("sku") if isinstance(fields, dict) else None
    return value.strip() if isinstance(value, str) else ""


# What the API's text fields refuse (DRF's CharField): PostgreSQL cannot store a NUL in text, and a lone
# surrogate cannot be encoded at all; either reached the database as a server error.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(value: str) -> str:
    """Why `value` cannot be stored as text, or ""."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return ""
    if found.group() == "\x00":
        return "Null characters are not allowed."
    return f"Surrogate characters are not allowed: U+{ord(found.group()):X}."


def _height(value) -> float | None:
    """A product's real height in cm (empty: unknown)."""
    if value is None or value == "":
        return None
    try:
        height = float(value)
    except (TypeError, ValueError) as exc:
        raise _RowProblem("height_cm", "A number of centimetres, e.g. 12.5.") from exc
    if not 0.1 <= height <= 10000:
        raise _RowProblem("height_cm", "Between 0.1 and 10000 cm.")
    return height


def _text(fields: dict, name: str) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _RowProblem(name, "Must be text.")
    if problem := _unstorable(value):
        raise _RowProblem(name, problem)
    return value.strip()


def _price(value) -> Decimal:
    if value is None or value == "":
        raise _RowProblem("price", "Missing.")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _RowProblem("price", f"Not a price: {value!r}.")
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite() or price < 0:
        raise _RowProblem("price", f"Not a price: {value!r} (digits and a decimal point, e.g. 599.00).")
    return price


def _highlights(value) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _RowProblem("highlights", "A list of short selling points.")
    for item in value:
        if isinstance(item, str) and (problem := _unstorable(item)):
            raise _RowProblem("highlights", problem)
    return value  # each one checked by the model's validator


def _base64_image(fields: dict) -> bytes | None:
    value = fields.get("image")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _RowProblem("image", "Must be the image's bytes in base64.")
    if value.startswith(("http:", "https:", "data:", "//")):
        raise _RowProblem("image", "Give the image itself in base64; URLs are not fetched.")
    if len(value) > (IMAGE_MAX_BYTES + 2) // 3 * 4:
        raise _RowProblem("image", f"Larger than {IMAGE_MAX_BYTES // 2**20} MB.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _RowProblem("image", "Not valid base64.") from exc


def _base64_images(fields: dict) -> list[tuple[str, bytes]] | None:
    """A JSON item's further photos: "images": [{"kind": "scene"|"detail", "image": base64}]; None: kept."""
    value = fields.get("images")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
        raise _RowProblem("images", 'A list of {"kind": "scene" or "detail", "image": base64}.')
    out = []
    for item in value:
        image = _base64_image(item)
        if image is None:
            raise _RowProblem("images", "Each further image needs its bytes in base64.")
        out.append((str(item.get("kind", "scene")), image))
    return out


class _ZipImages:
    """The files of an uploaded zip, looked up by the names the CSV gives and read on demand."""

    def __init__(self, file: IO[bytes]):
        _zip_directory_check(file)
        try:
            self._archive = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise ImportRejected("The images file is not a readable zip archive.", code="bad_zip") from exc
        infos = self._archive.infolist()
        if len(infos) > ZIP_MAX_ENTRIES:
            raise ImportRejected(f"The zip has {len(infos)} entries; at most {ZIP_MAX_ENTRIES}.", code="zip_too_many")
        unsafe = [info.filename for info in infos if _leaves_archive(info.filename)]
        if unsafe:
            raise ImportRejected(
                f"The zip has entries whose names lead outside it ({', '.join(map(repr, unsafe[:5]))}); "
                "nothing was imported.",
                code="zip_unsafe_names",
                extra={"names": unsafe[:100]},
            )
        files = [info for info in infos if not info.is_dir()]
        total = sum(info.file_size for info in files)
        if total > ZIP_MAX_TOTAL:
            raise ImportRejected(
                f"The zip unpacks to {total:,} bytes; at most {ZIP_MAX_TOTAL:,}.",
                code="zip_too_large",
                extra={"uncompressed_bytes": total, "max_bytes": ZIP_MAX_TOTAL},
            )
        self._read_total = 0
        # Names as written, then case-insensitively, then by file name alone (a zipped folder puts
        # everything under "folder/"): each only when it picks one file.
        self._lookups: list[tuple[Callable[[str], str], dict[str, list[zipfile.ZipInfo]]]] = []
        for key in (_normalised, lambda n: _normalised(n).lower(), lambda n: PurePosixPath(n).name.lower()):
            index: dict[str, list[zipfile.ZipInfo]] = {}
            for info in files:
                if not info.filename.startswith("__MACOSX/"):  # a Mac's resource forks, never images
                    index.setdefault(key(info.filename), []).append(info)
            self._lookups.append((key, index))

    def read(self, name: str) -> bytes:
        info = self._find(name)
        if info.flag_bits & 0x1:
            raise _RowProblem("image", f"{name!r} is encrypted in the zip.")
        if info.file_size > IMAGE_MAX_BYTES:
            raise _RowProblem(
                "image", f"{name!r} is {info.file_size / 2**20:.1f} MB; at most {IMAGE_MAX_BYTES // 2**20} MB."
            )
        if self._read_total + info.file_size > ZIP_MAX_TOTAL:
            raise _RowProblem("image", "The rows' images add up to more than the zip limit; import fewer rows.")
        try:
            # Reads stop at the declared size (ZipExtFile checks it and the CRC), so a lying
            # header cannot make an entry inflate past IMAGE_MAX_BYTES.
            with self._archive.open(info) as member:
                data = member.read(IMAGE_MAX_BYTES + 1)
        except _UNREADABLE_ENTRY as exc:
            raise _RowProblem("image", f"{name!r} is damaged in the zip: {exc}") from exc
        self._read_total += len(data)
        if len(data) > IMAGE_MAX_BYTES:
            raise _RowProblem("image", f"{name!r} is over {IMAGE_MAX_BYTES // 2**20} MB.")
        return data

    def _find(self, name: str) -> zipfile.ZipInfo:
        if _leaves_archive(name):
            raise _RowProblem("image", f"{name!r} leads outside the zip.")
        for key, index in self._lookups:
            found = index.get(key(name), [])
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                names = ", ".join(repr(i.filename) for i in found[:3])
                raise _RowProblem("image", f"{name!r} matches several files in the zip ({names}); give its path.")
            if "/" in _normalised(name):
                break  # a path was given: only the path lookups apply
        raise _RowProblem("image", f"{name!r} is not in the zip.")


def _normalised(name: str) -> str:
    return str(PurePosixPath(name.replace("\\", "/")))


def _leaves_archive(name: str) -> bool:
    """Absolute paths, drive letters and `..` parts: names an extractor would write outside its folder."""
    posix = name.replace("\\", "/")
    return posix.startswith("/") or ".." in posix.split("/") or (len(posix) > 1 and posix[1] == ":") or "\0" in name


def _zip_directory_check(file: IO[bytes]) -> None:
    """Refuse an archive whose end record lists more than ZIP_MAX_ENTRIES entries or a central
    directory over ZIP_MAX_DIRECTORY_BYTES, before zipfile builds an object for each entry.

    Reads the end-of-central-directory record (and the ZIP64 record before it) the way zipfile
    finds them: the record is the last 22 bytes, or the last signature in the final 64 KiB.
    """
    file.seek(0, io.SEEK_END)
    size = file.tell()
    tail_size = min(size, 22 + 0xFFFF)
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    file.seek(0)
    at = len(tail) - 22 if tail[-22:-18] == b"PK\x05\x06" and tail[-2:] == b"\0\0" else tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise ImportRejected("The images file is not a zip archive.", code="bad_zip")
    entries, directory_size = struct.unpack("<HI", tail[at + 10 : at + 16])
    end_record = size - tail_size + at
    if end_record >= 76:  # ZIP64: zipfile reads the sizes from the record just before the locator
        file.seek(end_record - 76)
        zip64 = file.read(76)
        file.seek(0)
        if zip64[:4] == b"PK\x06\x06" and zip64[56:60] == b"PK\x06\x07":
            entries, directory_size = struct.unpack("<QQ", zip64[32:48])
    if entries > ZIP_MAX_ENTRIES or directory_size > ZIP_MAX_DIRECTORY_BYTES:
        raise ImportRejected(
            f"The zip lists {entries:,} entries ({directory_size:,} bytes of directory); at most {ZIP_MAX_ENTRIES:,}.",
            code="zip_too_many",
        )
