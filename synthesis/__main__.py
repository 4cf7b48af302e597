"""Command line for designers and for trying the engine out: `python -m synthesis --help`."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from . import __version__
from .colour import hex_to_rgb
from .errors import SynthesisError
from .fonts import SYSTEM_FONT_DIRS, discover_fonts
from .samples import BACKDROPS, SHAPES, product_photo


def _font_dirs(extra: list[str]) -> list[Path]:
    from_env = [p for p in os.environ.get("CREATIVE_FONT_DIRS", "").split(",") if p]
    return [Path(p) for p in [*extra, *from_env]] + [Path("vendor/fonts"), *SYSTEM_FONT_DIRS]


def _hex_colour(value: str) -> tuple[int, int, int]:
    try:
        return hex_to_rgb(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("colour must be #RRGGBB") from exc


def cmd_fonts(args: argparse.Namespace) -> int:
    """List the faces the engine would use; exit 2 with the fix when none draws Chinese (set-up asks this)."""
    registry = discover_fonts([Path(p) for p in args.only] if args.only else _font_dirs(args.font_dir))
    rows = [
        {"name": f.name, "path": str(f.path), "index": f.index, "covers_cjk": f.covers_cjk}
        for f in registry.faces.values()
    ]
    print(json.dumps(rows, indent=2, ensure_ascii=False))
    registry.cjk_face()  # raises MissingCJKFont with the fix when there is none
    return 0


def cmd_sample_product(args: argparse.Namespace) -> int:
    photo = product_photo(args.colour, shape=args.shape, backdrop=args.backdrop, size=args.size, seed=args.seed)
    photo.image.save(args.output, quality=92)
    print(args.output)
    return 0


def _size(value: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, e.g. 1080x1080 (got {value!r})") from None
    if not (50 <= w <= 4096 and 50 <= h <= 4096):
        raise argparse.ArgumentTypeError(f"size {value} is outside 50..4096 pixels per side")
    return w, h


def _at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


# What `render -o` writes, by the file's extension.
_IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def _image_output(value: str) -> str:
    if Path(value).suffix.lower() not in _IMAGE_FORMATS:
        raise argparse.ArgumentTypeError(f"name the image .png, .jpg or .webp (got {value!r})")
    return value


def _sizes(value: str) -> list[tuple[int, int]]:
    return [_size(v) for v in value.split(",") if v]


def _load_products(paths: list[str]):
    from .images import load_image
    from .product import prepare_product

    return tuple(prepare_product(load_image(Path(p).read_bytes(), draft_size=(1600, 1600))) for p in paths)


def _copies(args: argparse.Namespace):
    from .render import AdCopy

    titles = args.title or [""]
    return [
        AdCopy(title=t, subtitle=args.subtitle or "", price=args.price or "", badge=args.badge or "") for t in titles
    ]


def _assets(asset_dirs: list[str]):
    from .images import load_image
    from .samples import sample_assets

    assets = sample_assets()
    for directory in asset_dirs:
        for path in sorted(Path(directory).glob("*")):
            if path.suffix.lower() in {".png", ".jpg", ".jpeg", ".webp"}:
                assets[path.stem] = load_image(path.read_bytes())
    return assets


def cmd_theme_colour(args: argparse.Namespace) -> int:
    from .colour import rgb_to_hex
    from .product import theme_colours_from_bytes

    theme = theme_colours_from_bytes(Path(args.image).read_bytes())
    print(
        json.dumps(
            {
                "theme": rgb_to_hex(theme.theme),
                "colours": [
                    {"hex": rgb_to_hex(c), "weight": round(w, 4)}
                    for c, w in zip(theme.colours, theme.weights, strict=True)
                ],
            },
            indent=2,
        )
    )
    return 0


def cmd_cutout(args: argparse.Namespace) -> int:
    """Write the product as an RGBA PNG the size of the input; exit 3 with the reason when there is none."""
    from .cutout import cut_out
    from .images import load_image

    image = load_image(Path(args.image).read_bytes())
    found = cut_out(image)
    if found.scene:
        print(f"no clean cut-out: {found.reason}", file=sys.stderr)
        return 3
    out = image.convert("RGBA") if found.backdrop == "transparent" else image.convert("RGB").convert("RGBA")
    out.putalpha(Image.fromarray(np.round(found.alpha * 255).astype(np.uint8)))
    out.save(args.output, format="PNG")
    print(json.dumps({"output": str(args.output), "backdrop": found.backdrop}))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from .search import search_creatives
    from .spec import load_template

    template = load_template(args.template)
    products = _load_products(args.product)
    from .product import product_theme_colours

    theme = product_theme_colours(products[0].image)
    result = search_creatives(
        [template],
        products,
        _copies(args),
        [args.size],
        theme=theme,
        fonts=discover_fonts(_font_dirs(args.font_dir)),
        assets=_assets(args.asset_dir),
        n=args.n,
        seed=args.seed,
    )
    creative = result.creatives[0]
    Path(args.output).write_bytes(creative.rendered.encode(_IMAGE_FORMATS[Path(args.output).suffix.lower()]))
    _warn(creative.rendered, creative.score.violations)
    print(
        json.dumps(
            {
                "output": args.output,
                "score": creative.score.total,
                "components": creative.score.components,
                "violations": creative.score.violations,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    return 0


def _warn(rendered, violations) -> None:
    """What a designer must know before using an image, on stderr: characters the fonts cannot draw
    (emoji), elements the canvas left out and the hard checks it fails (the image is written all the same)."""
    for text in rendered.texts:
        for warning in text.block.warnings:
            print(f"warning: {text.layer_id}: {warning}", file=sys.stderr)
    for dropped in rendered.dropped:
        if dropped.reason not in ("no_copy", "nothing_to_hold", "banner"):
            print(f"warning: {dropped.layer_id} left out ({dropped.reason})", file=sys.stderr)
    if violations:
        print(f"warning: fails hard checks: {', '.join(violations)}", file=sys.stderr)


def cmd_best(args: argparse.Namespace) -> int:
    from .product import product_theme_colours
    from .search import search_creatives
    from .spec import load_template

    paths = sorted(Path(args.templates).glob("*.json"))
    if not paths:
        what = "is not a directory" if not Path(args.templates).is_dir() else "holds no template (*.json)"
        print(f"error (templates): {args.templates} {what}", file=sys.stderr)
        return 2
    templates = [load_template(p) for p in paths]
    products = _load_products(args.product)
    theme = product_theme_colours(products[0].image)
    result = search_creatives(
        templates,
        products,
        _copies(args),
        args.sizes,
        theme=theme,
        fonts=discover_fonts(_font_dirs(args.font_dir)),
        assets=_assets(args.asset_dir),
        n=args.n,
        top_k=args.top,
        seed=args.seed,
    )
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    report = []
    for creative in result.creatives:
        name = f"{creative.size[0]}x{creative.size[1]}-{creative.rank + 1}.jpg"
        (out / name).write_bytes(creative.rendered.encode())
        report.append(
            {
                "file": name,
                "score": creative.score.total,
                "components": creative.score.components,
                "violations": list(creative.score.violations),
                "provenance": creative.provenance,
            }
        )
    refused = {f"{w}x{h}": reason for (w, h), reason in result.refused.items()}
    (out / "scores.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"{len(report)} creatives from {result.candidates_scored} scored candidates -> {out}/")
    for size, reason in refused.items():
        print(f"{size}: nothing made. {reason}", file=sys.stderr)
    return 0


def cmd_video(args: argparse.Namespace) -> int:
    from .errors import ImageRejected
    from .render import AdCopy
    from .video import load_video_product, plan_video, render_video, video_palette
    from .video_spec import load_video_template

    template = load_video_template(args.template)
    products = []
    for path in map(Path, args.product):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ImageRejected(f"Product image {path} cannot be read: {exc.strerror}", reason="unreadable") from exc
        products.append(load_video_product(data, sku=path.stem, highlights=args.highlight or ()))
    copy = AdCopy(title=(args.title or [""])[0], subtitle=args.subtitle or "", price=args.price or "")
    fonts = discover_fonts(_font_dirs(args.font_dir))
    assets = _assets(args.asset_dir)
    palette = video_palette(products)
    out = Path(args.output)
    report = []
    for size in args.sizes:
        plan = plan_video(template, size, products=products, copy=copy, palette=palette, fonts=fonts, assets=assets)
        result = render_video(
            plan, out / f"{size[0]}x{size[1]}.mp4", footage=args.footage, timeout=args.timeout, products=products
        )
        report.append({"video": str(result.path), "poster": str(result.poster), "seconds": round(result.seconds, 2)})
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def _add_render_inputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("--product", action="append", required=True, help="product image (repeat for 2-4 products)")
    p.add_argument("--title", action="append", help="title (repeat for copy variants)")
    p.add_argument("--subtitle")
    p.add_argument("--price")
    p.add_argument("--badge")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--font-dir", action="append", default=[])
    p.add_argument("--asset-dir", action="append", default=[], help="directory of extra assets, named by file stem")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m synthesis",
        description="Creative Admin's image and video engine (no Django needed).",
    )
    parser.add_argument("--version", action="version", version=f"synthesis {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    fonts = sub.add_parser("fonts", help="list the fonts the engine can use and check CJK coverage")
    fonts.add_argument("--font-dir", action="append", default=[], help="extra font directory")
    fonts.add_argument(
        "--only", action="append", default=[], help="look only in this directory (no system or vendor fonts)"
    )
    fonts.set_defaults(func=cmd_fonts)

    sample = sub.add_parser("sample-product", help="draw a product-like studio photo")
    sample.add_argument("--colour", type=_hex_colour, default=(200, 40, 40), help="#RRGGBB body colour")
    sample.add_argument("--shape", choices=SHAPES, default="jacket")
    sample.add_argument("--backdrop", choices=BACKDROPS, default="white")
    sample.add_argument("--size", type=int, default=800)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("-o", "--output", required=True)
    sample.set_defaults(func=cmd_sample_product)

    theme = sub.add_parser("theme-colour", help="a product photo's dominant colours (background excluded)")
    theme.add_argument("image")
    theme.set_defaults(func=cmd_theme_colour)

    cut = sub.add_parser(
        "cutout", help="cut the product out of its photo (RGBA PNG); exit 3 when the photo has no clean cut-out"
    )
    cut.add_argument("image")
    cut.add_argument("-o", "--output", required=True, help="the RGBA PNG to write")
    cut.set_defaults(func=cmd_cutout)

    rend = sub.add_parser("render", help="render one template at one size (best of -n variations)")
    rend.add_argument("--template", required=True)
    rend.add_argument("--size", type=_size, default=(1080, 1080))
    rend.add_argument("-n", type=_at_least_one, default=12, help="variations to try")
    rend.add_argument("-o", "--output", type=_image_output, required=True, help="the image: .png, .jpg or .webp")
    _add_render_inputs(rend)
    rend.set_defaults(func=cmd_render)

    best = sub.add_parser("best", help="candidate search over a directory of templates, for several sizes")
    best.add_argument("--templates", required=True, help="directory of template JSON files")
    best.add_argument("--sizes", type=_sizes, default=[(1080, 1080)], help="e.g. 1080x1080,1200x628,728x90")
    best.add_argument("-n", type=_at_least_one, default=40, help="design families to draw, each laid out at every size")
    best.add_argument("--top", type=_at_least_one, default=1, help="winners kept per size")
    best.add_argument("-o", "--output", required=True, help="output directory")
    _add_render_inputs(best)
    best.set_defaults(func=cmd_best)

    video = sub.add_parser("video", help="render a video template for a product at one or more sizes")
    video.add_argument("--template", required=True, help="video template JSON")
    video.add_argument("--footage", type=Path, help="footage file for a template with a footage base")
    video.add_argument("--highlight", action="append", help="a selling point (repeat, in order)")
    video.add_argument("--sizes", type=_sizes, default=[(720, 1280)], help="e.g. 1080x1920,1080x1080,1920x1080")
    video.add_argument("--timeout", type=float, default=300.0, help="seconds before ffmpeg is stopped")
    video.add_argument("-o", "--output", required=True, help="output directory")
    _add_render_inputs(video)
    video.set_defaults(func=cmd_video)
    return parser


_COPY_OPTIONS = ("--title", "--subtitle", "--price", "--badge")
_OPTION_LIKE = re.compile(r"-[^\W\d_]|--")  # an option name: a letter (or a second dash) after the dash


def _copy_values_joined(argv: list[str]) -> list[str]:
    """`--badge -30%` as `--badge=-30%`: argparse takes any value starting with a dash for an option and
    stops with 'expected one argument', but a discount badge or a price cut starts with one. A value
    whose dash is followed by a letter (`-n`, `--size`) is left as an option."""
    joined: list[str] = []
    for token in argv:
        if joined and joined[-1] in _COPY_OPTIONS and token.startswith("-") and not _OPTION_LIKE.match(token):
            joined[-1] = f"{joined[-1]}={token}"
        else:
            joined.append(token)
    return joined


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_copy_values_joined(list(sys.argv[1:] if argv is None else argv)))
    try:
        return args.func(args)
    except SynthesisError as exc:
        print(f"error ({exc.code}): {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a missing or unreadable file: say which, no traceback
        print(f"error (io): {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
