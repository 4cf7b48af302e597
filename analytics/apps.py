from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self):
        from campaigns.scorers import scorer_provider_register

        from .learning import active_scorer

        # Generation ranks candidates with the learned CTR model once it beats the fixed weights.
        scorer_provider_register(active_scorer)
