"""Dashboard figure: the analytics page over 30 days of hourly rollups for 1,000 creatives.

Run: `python -m bench.dashboard`. Builds 720,000 rollup rows (1,000 creatives x 30 days x
24 hours, every hour with traffic: the worst case) in a throwaway SQLite database (the
embedded default), then times the whole dashboard request (leaderboard, daily series per
template and placement, score vs CTR, element attribution, charts) and each query alone, beside
a floor measured in the same run: one scan summing the daily rollups the page reads (what any
report over those rows costs on this machine).
"""

import os
import statistics
import tempfile
import time
from pathlib import Path

WORKDIR = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creativeadmin.settings")
os.environ["DATABASE_URL"] = f"sqlite:///{WORKDIR / 'db.sqlite3'}"
os.environ["MEDIA_ROOT"] = str(WORKDIR / "media")
os.environ.pop("CELERY_BROKER_URL", None)

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

CREATIVES, DAYS, TEMPLATES, PLACEMENTS = 1000, 30, 12, 4


def _seed() -> None:
    from analytics.models import HourlyRollup
    from analytics.services import daily_rollups_build
    from campaigns.models import AdCopySet, Campaign, Creative, Placement
    from templates_app.models import Template, TemplateVersion

    rng = np.random.default_rng(0)
    versions = [
        TemplateVersion.objects.create(template=Template.objects.create(name=f"template-{i}"), number=1, spec={})
        for i in range(TEMPLATES)
    ]
    placements = [Placement.objects.create(name=f"placement-{i}", channel="dsp", sizes=[[300, 250]]) for i in range(4)]
    campaign = Campaign.objects.create(name="bench", copy=AdCopySet.objects.create(name="bench", titles=["x"]))
    palettes = ["theme", "complement", "tint", "dark"]
    colours = ["#c8102e", "#1f3a6e", "#2e8b57", "#f2c12e", "#7b3fa0"]
    creatives = Creative.objects.bulk_create(
        Creative(
            campaign=campaign, product_key=f"P{i}", template_version=versions[i % TEMPLATES], width=300, height=250,
            variant=0, file=f"c/{i}.jpg", content_hash=f"{i}", aesthetic_score=float(rng.uniform(50, 95)),
            theme_colours=[colours[i % 5]],
            provenance={"template": f"template-{i % TEMPLATES}", "palette": {"name": palettes[i % 4]},
                        "layers": {"title": {"align": "left", "size_scale": 1.0}, "badge": {"visible": i % 2 == 0}}},
        )
        for i in range(CREATIVES)
    )  # fmt: skip
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=DAYS)
    batch = []
    for h in range(DAYS * 24):
        hour = start + timedelta(hours=h)
        impressions = rng.poisson(30, size=CREATIVES)
        clicks = rng.binomial(impressions, 0.03)
        for i, c in enumerate(creatives):
            batch.append(
                HourlyRollup(
                    hour=hour, creative_id=c.pk, placement=placements[i % PLACEMENTS],
                    template_version_id=c.template_version_id, impressions_gross=int(impressions[i]),
                    impressions=int(impressions[i]), clicks_gross=int(clicks[i]), clicks=int(clicks[i]),
                )
            )  # fmt: skip
        if len(batch) >= 20_000:
            HourlyRollup.objects.bulk_create(batch, batch_size=5000)
            batch = []
    HourlyRollup.objects.bulk_create(batch, batch_size=5000)
    daily_rollups_build(start, start + timedelta(days=DAYS + 1))  # what rollups_build does after the hours


def _timed(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    from django.db.models import Sum

    from analytics import selectors
    from analytics.models import DailyRollup, HourlyRollup

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    _seed()
    rows = HourlyRollup.objects.count()
    print(f"Dashboard over {DAYS} days of hourly rollups: {CREATIVES} creatives, {TEMPLATES} templates, ")
    print(f"{PLACEMENTS} placements, {rows:,} rollup rows (built in {time.perf_counter() - started:.0f} s), SQLite")
    user = get_user_model().objects.create_superuser("bench", password="bench-pass-123")
    client = Client()
    client.force_login(user)
    today = timezone.localdate()
    params = {"from": (today - timedelta(days=DAYS)).isoformat(), "to": today.isoformat()}
    assert client.get("/dashboards/", params).status_code == 200
    end = timezone.now() + timedelta(hours=1)
    span = dict(start=end - timedelta(days=DAYS + 1), end=end)
    page = _timed(lambda: client.get("/dashboards/", params))
    floor = _timed(lambda: DailyRollup.objects.aggregate(Sum("impressions"), Sum("clicks")))
    print(f"  whole dashboard page (all queries and charts): {page:6.0f} ms (aim <= 300 ms)")
    print(
        f"    floor: one scan summing the {DailyRollup.objects.count():,} daily rollup rows: {floor:6.1f} ms;"
        f" the page = {page / floor:.0f}x it"
    )
    for label, fn in (
        ("template leaderboard", lambda: selectors.template_leaderboard(**span)),
        ("daily CTR per template", lambda: selectors.daily_series(by="template", **span)),
        ("daily exposure per placement", lambda: selectors.daily_series(by="placement", **span)),
        ("score vs CTR per creative", lambda: selectors.score_vs_ctr(**span)),
        ("element attribution", lambda: selectors.element_attribution(**span)),
    ):
        print(f"    {label:30}: {_timed(fn):6.0f} ms")


if __name__ == "__main__":
    main()
