"""`manage.py ctr_model_train`: fit the CTR model on the rollups now and print how it validated."""

from django.core.management.base import BaseCommand, CommandError

from analytics.errors import NotEnoughData
from analytics.learning import ctr_model_train


class Command(BaseCommand):
    help = "Train the CTR model on the rollups, validate it on the latest time slice, activate it if it wins."

    def handle(self, *args, **options):
        try:
            model = ctr_model_train()
        except NotEnoughData as exc:
            raise CommandError(f"Not enough traffic to train: {exc}") from exc
        m = model.metrics
        self.stdout.write(
            f"Validated on {m['valid_impressions']} impressions from {m['validated_from']}: "
            f"AUC {m['auc']} (fixed weights {m['baseline_auc']}), "
            f"log-loss {m['log_loss']} (fixed weights {m['baseline_log_loss']}). "
            + ("Active: candidate search ranks by it." if model.active else "Not active: the fixed weights stay.")
        )
