from django.core.management.base import BaseCommand

from calculator import services


class Command(BaseCommand):
    help = (
        "Load the reviewed model and hardware data files (and the RAM-kit catalog). "
        "Idempotent: rows an editor changed in admin are kept and reported."
    )

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(services.models_load().summary("Models"))
        self.stdout.write(services.hardware_load().summary("Hardware profiles"))
        try:
            from catalog.services import catalog_seed
        except ImportError:
            return
        self.stdout.write(str(catalog_seed()))
