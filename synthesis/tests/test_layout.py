"""Size matching: auto layout keeps every element on the canvas and text clear of products."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthesis.layout import aspect_class, plan_layout, product_slots
from synthesis.spec import load_template

TEMPLATES = [load_template(p) for p in sorted((Path(__file__).resolve().parents[1] / "templates").glob("*.json"))]


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1080, 1080), "square"),
        ((1080, 1350), "square"),
        ((300, 250), "square"),
        ((1080, 1920), "tall"),
        ((1920, 1080), "wide"),
        ((1200, 628), "wide"),
        ((728, 90), "banner"),
        ((320, 50), "banner"),
    ],
)
def test_aspect_classes(size, expected):
    assert aspect_class(*size) == expected


def _inside(inner, outer) -> bool:
    return (
        inner[0] >= outer[0]
        and inner[1] >= outer[1]
        and inner[0] + inner[2] <= outer[0] + outer[2]
        and inner[1] + inner[3] <= outer[1] + outer[3]
    )


def _disjoint(a, b) -> bool:
    return a[0] + a[2] <= b[0] or b[0] + b[2] <= a[0] or a[1] + a[3] <= b[1] or b[1] + b[3] <= a[1]


@settings(max_examples=300, deadline=None)
@given(
    template_index=st.integers(0, len(TEMPLATES) - 1),
    width=st.integers(320, 1920),
    height=st.integers(50, 1920),
    count=st.integers(1, 4),
    hidden=st.sets(st.sampled_from(["logo", "badge", "subtitle", "price", "band", "deco"])),
)
def test_auto_layout_keeps_elements_in_the_safe_area_and_text_off_products(
    template_index, width, height, count, hidden
):
    template = TEMPLATES[template_index]
    count = min(max(count, template.products_min), template.products_max)

    layout = plan_layout(template, (width, height), product_count=count, visible={h: False for h in hidden})

    roles = {layer.id: layer.role for layer in template.layers}
    for layer_id, box in layout.boxes.items():
        assert _inside(box, (0, 0, width, height)), (layer_id, box)
        if roles[layer_id] not in ("background", "shape"):
            assert _inside(box, layout.safe_area), (layer_id, box, layout.safe_area)
    product = next(i for i, r in roles.items() if r == "product")
    for layer_id, role in roles.items():
        if role in ("title", "subtitle", "price", "badge", "logo") and layer_id in layout.boxes:
            assert _disjoint(layout.boxes[layer_id], layout.boxes[product]), (layer_id, layout.boxes)
    assert len(layout.product_slots) == count
    for i, slot in enumerate(layout.product_slots):
        assert _inside(slot, layout.boxes[product])
        for other in layout.product_slots[i + 1 :]:
            assert _disjoint(slot, other)


@pytest.mark.parametrize(
    ("zone", "count", "grouping", "expected"),
    [
        ((0, 0, 800, 200), 3, "auto", "row"),
        ((0, 0, 400, 400), 4, "auto", "grid"),
        ((0, 0, 400, 400), 3, "auto", "hero"),
    ],
)
def test_product_groupings(zone, count, grouping, expected):
    slots = product_slots(zone, count, grouping)

    if expected == "row":
        assert len({s[1] for s in slots}) == 1
    elif expected == "grid":
        assert len({s[0] for s in slots}) == 2 and len({s[1] for s in slots}) == 2
    else:
        assert slots[0][2] * slots[0][3] > 2 * slots[1][2] * slots[1][3]
