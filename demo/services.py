"""The demo seed: users per role, a brand, fonts, assets and a catalogue made by code.

Idempotent: every step looks its rows up by a natural key first, so seeding twice creates
nothing twice. Later issues grow it (templates, a campaign, creatives) in this one place.
"""

import functools
import io
import json
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from PIL import Image

from accounts.roles import ANALYSTS, DESIGNERS, OPERATORS
from campaigns.models import AdCopySet, Campaign, Creative, Placement, Product
from campaigns.services import (
    campaign_go_live,
    campaign_product_sets,
    creatives_generate_for_product_set,
    creatives_review,
    generation_job_start,
    product_upsert,
)
from synthesis.fonts import SYSTEM_FONT_DIRS, discover_fonts
from synthesis.samples import product_photo, sample_assets, sample_footage
from templates_app.models import Asset, Template
from templates_app.services import asset_create, brand_upsert, font_register, template_create, template_publish

DEMO_CAMPAIGN = "Winter sale (demo)"
SHIPPED_TEMPLATES = Path(__file__).resolve().parent.parent / "synthesis" / "templates"

DEMO_USERS = (
    ("designer", DESIGNERS, False),
    ("operator", OPERATORS, False),
    ("analyst", ANALYSTS, False),
    ("admin", None, True),
)

# (sku, title, price, category, colour, shape, highlights)
DEMO_PRODUCTS = (
    (
        "YX-DOWN-001",
        "网易严选 冬季羽绒服 限时直降",
        "699.00",
        "apparel",
        (178, 34, 52),
        "jacket",
        ["90% 白鹅绒", "-20°C 保暖", "防泼水面料"],
    ),
    (
        "YX-DOWN-002",
        "轻薄羽绒服 男女同款",
        "399.00",
        "apparel",
        (31, 58, 110),
        "jacket",
        ["仅 280g", "可收纳", "三色可选"],
    ),
    (
        "YX-BOTL-001",
        "保温杯 316 不锈钢 500ml",
        "129.00",
        "home",
        (46, 125, 90),
        "bottle",
        ["12 小时保温", "316 不锈钢", "一键开盖"],
    ),
    (
        "YX-SHOE-001",
        "缓震跑步鞋 透气网面",
        "459.00",
        "shoes",
        (235, 120, 30),
        "sneaker",
        ["轻量缓震", "透气网面", "防滑大底"],
    ),
    (
        "YX-BAG-001",
        "通勤双肩包 防水面料",
        "259.00",
        "bags",
        (60, 60, 66),
        "bag",
        ["15.6 寸电脑仓", "防泼水", "USB 充电口"],
    ),
    ("YX-BOX-001", "每日坚果礼盒 30 袋", "99.00", "food", (214, 170, 40), "box", ["6 种坚果", "独立小包", "0 添加"]),
    (
        "YX-DOWN-003",
        "儿童羽绒服 连帽加厚",
        "329.00",
        "apparel",
        (236, 112, 150),
        "jacket",
        ["95% 白鸭绒", "可拆卸帽", "反光条"],
    ),
    (
        "YX-BOTL-002",
        "运动水杯 Tritan 材质 750ml",
        "79.00",
        "sports",
        (40, 150, 200),
        "bottle",
        ["Tritan 材质", "弹盖吸管", "刻度提醒"],
    ),
)


@dataclass
class DemoSeedResult:
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (username, password, role)
    products: int = 0
    fonts: int = 0
    assets: int = 0
    templates: int = 0
    creatives: int = 0


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _jpeg_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _seed_users(password: str, result: DemoSeedResult) -> None:
    User = get_user_model()
    for username, role, superuser in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, email=f"{username}@demo.invalid")
            user.set_password(password)
        user.is_staff = True
        user.is_superuser = superuser
        user.save()
        if role:
            user.groups.add(Group.objects.get(name=role))
        result.logins.append((username, password, role or "superuser"))


def _seed_fonts(font_dirs: list[Path], result: DemoSeedResult) -> dict:
    registry = discover_fonts(font_dirs)
    registry.cjk_face()  # fail early, with the fix, when no CJK font is installed
    registered = {}
    for name, family, weight in (
        ("sans", "DejaVu Sans", 400),
        ("sans-bold", "DejaVu Sans", 700),
        ("sans-cjk", "Noto Sans CJK SC", 400),
        ("sans-cjk-bold", "Noto Sans CJK SC", 700),
    ):
        if name not in registry.faces:
            continue
        face = registry.faces[name]
        if name.startswith("sans-cjk") and not face.covers_cjk:
            continue
        if name.startswith("sans-cjk") and "Noto" not in face.path.name:
            family = face.path.stem  # e.g. WenQuanYi from the fallback set-up
        registered[name] = font_register(
            family=family, weight=weight, data=face.path.read_bytes(), filename=face.path.name, face_index=face.index
        )
        result.fonts += 1
    return registered


def _seed_templates(result: DemoSeedResult) -> None:
    """The templates shipped with the engine, published, owned by the demo designer."""
    designer = get_user_model().objects.get(username="designer")
    for path in sorted(SHIPPED_TEMPLATES.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        if not Template.objects.filter(name=spec["name"]).exists():
            template_publish(template=template_create(name=spec["name"], spec=spec, owner=designer))
        result.templates += 1


@functools.lru_cache(maxsize=1)
def _footage_bytes() -> bytes:
    """16 s of moving background with a tone, made by ffmpeg (once per process)."""
    with tempfile.TemporaryDirectory() as tmp:
        return sample_footage(Path(tmp) / "footage.mp4", seconds=16, size=(540, 960)).read_bytes()


def _seed_video_template(result: DemoSeedResult) -> None:
    """The shipped product-showcase video template and the footage it names."""
    designer = get_user_model().objects.get(username="designer")
    asset_create(name="footage", kind=Asset.Kind.FOOTAGE, data=_footage_bytes())
    result.assets += 1
    for path in sorted((SHIPPED_TEMPLATES / "video").glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        if not Template.objects.filter(name=spec["name"]).exists():
            template_publish(template=template_create(name=spec["name"], spec=spec, owner=designer))
        result.templates += 1


def _seed_campaign(result: DemoSeedResult) -> None:
    """A small winter campaign, generated in-process, its best creatives approved."""
    if Campaign.objects.filter(name=DEMO_CAMPAIGN).exists():
        result.creatives = Creative.objects.filter(campaign__name=DEMO_CAMPAIGN).count()
        return
    placement, _ = Placement.objects.get_or_create(
        name="App feed", defaults={"channel": Placement.Channel.RECOMMENDATION, "sizes": [[1080, 1080], [728, 90]]}
    )
    video_placement, _ = Placement.objects.get_or_create(
        name="App feed video",
        defaults={
            "channel": Placement.Channel.RECOMMENDATION,
            "sizes": [[540, 960]],
            "format": Placement.Format.VIDEO,
            "max_file_kb": 4000,
        },
    )
    copy, _ = AdCopySet.objects.get_or_create(
        name="Winter sale",
        defaults={
            "titles": ["网易严选 冬季好物 限时直降", "冬季焕新 温暖过冬"],
            "subtitles": ["90% 白鹅绒 · -20°C 保暖"],
            "badge": "限时直降",
        },
    )
    campaign = Campaign.objects.create(name=DEMO_CAMPAIGN, copy=copy, top_k=1, candidates_per_size=12)
    campaign.templates.set(Template.objects.filter(products_min=1))
    campaign.placements.add(placement, video_placement)
    campaign.products.set(Product.objects.filter(sku__in=["YX-DOWN-001", "YX-DOWN-002", "YX-BOTL-001"]))
    job = generation_job_start(campaign=campaign)
    for skus in campaign_product_sets(campaign=campaign):
        creatives_generate_for_product_set(job_id=job.pk, skus=skus)  # in-process: the seed runs in one transaction
    creatives = Creative.objects.filter(campaign=campaign)
    creatives_review(creatives=creatives, approve=True)
    campaign_go_live(campaign=campaign)
    result.creatives = creatives.count()
    _seed_traffic(campaign)


def _seed_traffic(campaign) -> None:
    """A week of simulated exposure, clicks and orders for the demo campaign, so the dashboards have data.

    Deterministic (fixed seed); each creative has a hidden CTR that grows with its score, and a click
    becomes an order (a conversion of the same serve, an hour later) with a creative's own rate of 4-16%.
    Events are written directly here, as a placement's reports would have been, then rolled up.
    """
    import numpy as np
    from django.utils import timezone

    from analytics.errors import NotEnoughData
    from analytics.learning import ctr_model_train
    from analytics.models import Event
    from analytics.services import rollups_build, serving_stats_refresh

    rng = np.random.default_rng(7)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    placements = {p.format: p for p in campaign.placements.all()}
    events = []
    for creative in campaign.creatives.order_by("pk"):
        placement = placements[creative.format]
        true_ctr = 0.01 + 0.03 * (creative.aesthetic_score - 70) / 30
        true_cvr = float(rng.uniform(0.04, 0.16))
        for day in range(7):
            for hour in range(0, 24, 3):
                when = now - timedelta(days=day, hours=hour)
                shown = int(rng.poisson(40))
                clicks = int(rng.binomial(shown, max(0.002, true_ctr)))
                for n in range(shown):
                    serve = f"{creative.pk}-{day}-{hour}-{n}"
                    events.append(
                        Event(
                            event_id=f"demo-i-{serve}",
                            kind="impression",
                            creative=creative,
                            placement=placement,
                            serve_id=serve,
                            occurred_at=when,
                            user_agent="demo",
                        )
                    )
                    if n < clicks:
                        events.append(
                            Event(
                                event_id=f"demo-c-{serve}",
                                kind="click",
                                creative=creative,
                                placement=placement,
                                serve_id=serve,
                                occurred_at=when,
                                user_agent="demo",
                            )
                        )
                        if rng.random() < true_cvr:
                            events.append(
                                Event(
                                    event_id=f"demo-o-{serve}",
                                    kind="conversion",
                                    creative=creative,
                                    placement=placement,
                                    serve_id=serve,
                                    occurred_at=min(when + timedelta(hours=1), now),
                                    user_agent="demo",
                                )
                            )
    Event.objects.bulk_create(events, batch_size=2000)
    rollups_build(start=now - timedelta(days=8), end=now + timedelta(hours=1))
    serving_stats_refresh()
    try:
        ctr_model_train()  # the dashboard's learning-loop panel has a model to show
    except NotEnoughData:
        pass


@transaction.atomic
def demo_seed(*, password: str, font_dirs: list[Path] | None = None) -> DemoSeedResult:
    result = DemoSeedResult()
    dirs = font_dirs if font_dirs is not None else [*map(Path, settings.CREATIVE_FONT_DIRS), *SYSTEM_FONT_DIRS]
    _seed_users(password, result)
    fonts = _seed_fonts(dirs, result)

    drawn = sample_assets()
    logo = asset_create(name="logo", kind=Asset.Kind.LOGO, data=_png_bytes(drawn["logo"]))
    asset_create(name="scene-podium", kind=Asset.Kind.BACKGROUND, data=_jpeg_bytes(drawn["scene-podium"]))
    asset_create(name="burst", kind=Asset.Kind.DECORATION, data=_png_bytes(drawn["burst"]))
    asset_create(name="ribbon", kind=Asset.Kind.DECORATION, data=_png_bytes(drawn["ribbon"]))
    result.assets = 4
    brand_upsert(
        name="Demo 优选",
        primary_colour="#e4572e",
        accent_colour="#ffc828",
        text_colour="#1d2330",
        logo=logo,
        title_font=fonts.get("sans-cjk-bold"),
        body_font=fonts.get("sans-cjk"),
    )
    _seed_templates(result)
    _seed_video_template(result)
    for index, (sku, title, price, category, colour, shape, highlights) in enumerate(DEMO_PRODUCTS):
        photo = product_photo(
            colour, shape=shape, backdrop=("white", "grey", "warm", "textured")[index % 4], seed=index
        )
        product_upsert(
            sku=sku,
            title=title,
            price=Decimal(price),
            category=category,
            image_data=_jpeg_bytes(photo.image),
            highlights=highlights,
        )
        result.products += 1
    _seed_campaign(result)
    return result
