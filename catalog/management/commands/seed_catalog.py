from django.core.management.base import BaseCommand, CommandParser

from catalog import services


class Command(BaseCommand):
    help = (
        "Create the seed memory kits and retailers that are missing (never overwrites "
        "admin edits), then sync the demo feed's sample prices through the normal sync code."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-demo-sync", action="store_true", help="Skip syncing the demo feed's prices."
        )

    def handle(self, *args, no_demo_sync: bool = False, **options) -> None:
        result = services.catalog_seed()
        self.stdout.write(
            f"Seeded {result.kits_created} new kits and {result.retailers_created} new retailers."
        )
        if no_demo_sync:
            return
        run = services.demo_prices_sync()
        if run is None:
            self.stdout.write("Demo feed retailer is missing or inactive; no sample prices synced.")
        else:
            self.stdout.write(
                f"Demo feed: {run.get_status_display()}, {run.offers_checked} checked, "
                f"{run.offers_changed} changed, {run.offers_failed} rejected (sample prices)."
            )
