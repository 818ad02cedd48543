from django.core.management import call_command
from django.core.management.base import BaseCommand

from calculator import services


class Command(BaseCommand):
    help = (
        "Load the reviewed model and hardware data files, then seed the RAM-kit catalog and "
        "its demo prices. Idempotent: rows an editor changed in admin are kept and reported."
    )

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(services.models_load().summary("Models"))
        self.stdout.write(services.hardware_load().summary("Hardware profiles"))
        call_command("seed_catalog", stdout=self.stdout)
