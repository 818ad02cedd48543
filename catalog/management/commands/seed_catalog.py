from django.core.management.base import BaseCommand, CommandParser

from catalog import seeding
from catalog.gguf_snapshot import gguf_snapshot_load


class Command(BaseCommand):
    help = (
        "Create the seed kits, retailers, components, product links, reference prices and "
        "price bands and the reviewed GGUF listings that are missing (never overwrites admin "
        "edits or synced files), then sync the demo "
        "feed's sample prices through the normal sync code."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-demo-sync", action="store_true", help="Skip syncing the demo feed's prices."
        )

    def handle(self, *args: object, no_demo_sync: bool = False, **options: object) -> None:
        self.stdout.write(seeding.catalog_seed().summary())
        self.stdout.write(gguf_snapshot_load().summary())
        if no_demo_sync:
            return
        run = seeding.demo_prices_sync()
        if run is None:
            self.stdout.write("Demo feed retailer is missing or inactive; no sample prices synced.")
        else:
            self.stdout.write(
                f"Demo feed: {run.get_status_display()}, {run.offers_checked} checked, "
                f"{run.offers_changed} changed, {run.offers_failed} rejected, "
                f"{run.offers_held} held (sample prices)."
            )
