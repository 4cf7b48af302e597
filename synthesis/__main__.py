"""Command line for designers and for trying the engine out: `python -m synthesis --help`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import __version__
from .errors import SynthesisError
from .fonts import SYSTEM_FONT_DIRS, discover_fonts
from .samples import BACKDROPS, SHAPES, product_photo


def _font_dirs(extra: list[str]) -> list[Path]:
    from_env = [p for p in os.environ.get("CREATIVE_FONT_DIRS", "").split(",") if p]
    return [Path(p) for p in [*extra, *from_env]] + [Path("vendor/fonts"), *SYSTEM_FONT_DIRS]


def _hex_colour(value: str) -> tuple[int, int, int]:
    value = value.lstrip("#")
    if len(value) != 6:
        raise argparse.ArgumentTypeError("colour must be #RRGGBB")
    return tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]


def cmd_fonts(args: argparse.Namespace) -> int:
    registry = discover_fonts(_font_dirs(args.font_dir))
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m synthesis",
        description="Creative Admin's image and video engine (no Django needed).",
    )
    parser.add_argument("--version", action="version", version=f"synthesis {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    fonts = sub.add_parser("fonts", help="list the fonts the engine can use and check CJK coverage")
    fonts.add_argument("--font-dir", action="append", default=[], help="extra font directory")
    fonts.set_defaults(func=cmd_fonts)

    sample = sub.add_parser("sample-product", help="draw a product-like studio photo")
    sample.add_argument("--colour", type=_hex_colour, default=(200, 40, 40), help="#RRGGBB body colour")
    sample.add_argument("--shape", choices=SHAPES, default="jacket")
    sample.add_argument("--backdrop", choices=BACKDROPS, default="white")
    sample.add_argument("--size", type=int, default=800)
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("-o", "--output", required=True)
    sample.set_defaults(func=cmd_sample_product)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SynthesisError as exc:
        print(f"error ({exc.code}): {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
