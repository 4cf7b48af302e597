"""`manage.py market_simulate`: Thompson sampling vs rotation vs the oracle on simulated traffic."""

import time

from django.core.management.base import BaseCommand

from analytics.simulation import market_simulate


class Command(BaseCommand):
    help = "Simulate a market through the real serving and tracking code (rolled back unless --keep)."

    def add_arguments(self, parser):
        parser.add_argument("--impressions", type=int, default=100_000)
        parser.add_argument("--creatives", type=int, default=24)
        parser.add_argument("--hours", type=int, default=48)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--keep", action="store_true", help="keep the simulated campaign and its events")

    def handle(self, *args, impressions, creatives, hours, seed, keep, **options):
        started = time.perf_counter()
        r = market_simulate(impressions=impressions, creatives=creatives, hours=hours, seed=seed, keep=keep)
        w = self.stdout.write
        elapsed = time.perf_counter() - started
        w(f"{r.impressions} impressions, {r.creatives} creatives, {r.hours} simulated hours ({elapsed:.0f} s)")
        ts, rot = r.clicks_thompson, r.clicks_rotation
        w(f"  Thompson sampling (real serving): {ts:6d} clicks = {r.share_of_oracle:.1%} of the oracle (aim >= 90%)")
        w(f"  uniform rotation               : {rot:6d} clicks = {rot / r.clicks_oracle:.1%} of the oracle")
        w(f"  oracle (knows the true CTRs)   : {r.clicks_oracle:6d} clicks")
        if r.model_metrics:
            m = r.model_metrics
            w(f"  CTR model: Spearman {r.model_spearman:.3f} with the hidden CTRs")
            w(f"    held-out AUC {m['auc']} (fixed weights {m['baseline_auc']})")
            w(f"    held-out log-loss {m['log_loss']} (fixed weights {m['baseline_log_loss']})")
        else:
            w("  CTR model: not enough traffic per creative to train")
