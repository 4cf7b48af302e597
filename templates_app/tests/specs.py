"""Template specs the tests start from: the shipped templates, and the issue's broken edit of one."""

import json
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[2] / "synthesis" / "templates"


def shipped_spec(name: str = "single-hero") -> dict:
    """A fresh copy of a shipped template's spec (the caller may change it)."""
    return json.loads((SHIPPED / f"{name}.json").read_text())


def title_on_the_product() -> dict:
    """Issue 20's version 2 of single-hero: the title moved onto the product at every shape."""
    spec = shipped_spec()
    for layer in spec["layers"]:
        if layer["role"] == "product":
            layer["boxes"] = {
                cls: {"x": 0.1, "y": 0.1, "w": 0.8, "h": 0.8} for cls in ("square", "tall", "wide", "banner")
            }
        if layer["role"] == "title":
            layer["boxes"] = {
                cls: {"x": 0.1, "y": 0.4, "w": 0.8, "h": 0.2} for cls in ("square", "tall", "wide", "banner")
            }
    return spec
