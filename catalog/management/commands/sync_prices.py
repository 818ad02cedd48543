from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog import services
from catalog.models import Retailer, SyncRun
from catalog.sources import TransientSourceError


class Command(BaseCommand):
    help = (
        "Sync prices now, in this process (the manual or cron twin of the Celery task). "
        "Without --retailer, syncs every active retailer."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--retailer", metavar="SLUG", help="Only this retailer.")

    def handle(self, *args, retailer: str | None = None, **options) -> None:
        retailers = Retailer.objects.filter(is_active=True)
        if retailer:
            retailers = Retailer.objects.filter(slug=retailer)
            if not retailers.exists():
                raise CommandError(f"No retailer with slug {retailer!r}.")
        failed = []
        for item in retailers:
            try:
                run = services.price_sync_run(retailer_id=item.pk)
            except TransientSourceError as exc:
                failed.append(item.slug)
                self.stderr.write(f"{item.slug}: failed, try again later ({exc})")
                continue
            self.stdout.write(
                f"{item.slug}: {run.get_status_display()}, {run.offers_checked} checked, "
                f"{run.offers_changed} changed, {run.offers_failed} rejected"
            )
            if run.status == SyncRun.Status.FAILED:
                failed.append(item.slug)
        if failed:
            raise CommandError(f"Sync failed for: {', '.join(failed)}")
