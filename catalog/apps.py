from django.apps import AppConfig

from calculator import versions


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        # Kit pages and a model page's kit picks show these rows (calculator.versions).
        shown = ("Retailer", "MemoryKit", "Offer", "PriceSnapshot", "SyncRun")
        versions.bump_on_change(versions.PRICES, [self.get_model(name) for name in shown])
        # Model pages list a model's GGUF files (editors' changes; the sync bumps itself).
        files = ("GgufRepository", "GgufFile")
        versions.bump_on_change(versions.MODELS, [self.get_model(name) for name in files])
