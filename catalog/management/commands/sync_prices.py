from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog import services
from catalog.models import Retailer, SyncRun


class Command(BaseCommand):
    help = (
        "Sync prices now, in this process (the manual or cron twin of the Celery task). "
        "Without --retailer, syncs every active retailer that has a source to fetch."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--retailer", metavar="SLUG", help="Only this retailer.")

    def handle(self, *args: object, retailer: str | None = None, **options: object) -> None:
        retailers = Retailer.objects.active().syncing()
        if retailer:
            retailers = Retailer.objects.filter(slug=retailer)
            if not retailers.exists():
                raise CommandError(f"No retailer with slug {retailer!r}.")
        failed = []
        for item in retailers:
            if not item.source.syncs:
                self.stdout.write(f"{item.slug}: prices are typed by editors; nothing to sync")
                continue
            run = services.price_sync_run(retailer_id=item.pk, runner=SyncRun.Runner.COMMAND).run
            line = (
                f"{item.slug}: {run.get_status_display()}, {run.offers_checked} checked, "
                f"{run.offers_changed} changed, {run.offers_failed} rejected, "
                f"{run.offers_held} held"
            )
            if run.reason:
                line += f" ({run.reason})"
            self.stdout.write(line)
            if run.status in (SyncRun.Status.FAILED, SyncRun.Status.REFUSED):
                failed.append(item.slug)
        if failed:
            raise CommandError(f"Sync failed for: {', '.join(failed)}")
