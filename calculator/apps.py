from django.apps import AppConfig, apps
from django.db.models.signals import post_delete, post_save

# Every row a public page or the API shows; a save or delete of any of them
# invalidates all cached responses (calculator.response_cache).
SHOWN_MODELS = (
    "calculator.LlmModel",
    "calculator.HardwareProfile",
    "calculator.EfficiencyClass",
    "calculator.SlugRedirect",
    "catalog.Retailer",
    "catalog.MemoryKit",
    "catalog.Offer",
    "catalog.SyncRun",
    "faq.FaqEntry",
)


class CalculatorConfig(AppConfig):
    name = "calculator"

    def ready(self) -> None:
        from calculator.response_cache import bump_data_version

        for label in SHOWN_MODELS:
            model = apps.get_model(label)
            post_save.connect(bump_data_version, sender=model, dispatch_uid=f"bump-{label}")
            post_delete.connect(bump_data_version, sender=model, dispatch_uid=f"bump-{label}-d")
