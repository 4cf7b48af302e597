from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self):
        from campaigns.scorers import scorer_provider_register
        from campaigns.traffic import placement_traffic_check_register

        from .learning import active_scorer
        from .selectors import placement_has_traffic

        # Generation ranks candidates with the learned CTR model once it beats the fixed weights.
        scorer_provider_register(active_scorer)
        # A placement with events or rollups is archived, not deleted (its history stays for the dashboards).
        placement_traffic_check_register(placement_has_traffic)
