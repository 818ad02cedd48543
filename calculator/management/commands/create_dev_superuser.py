from django.core.management.base import BaseCommand, CommandError

from calculator import dev_login


class Command(BaseCommand):
    help = (
        "Create the development-only superuser admin / admin (DEBUG=1 only; `make run` runs "
        "it). Idempotent: an existing admin account is left as it is."
    )

    def handle(self, *args: object, **options: object) -> None:
        try:
            created = dev_login.ensure_dev_superuser()
        except dev_login.DevLoginRefused as exc:
            raise CommandError(str(exc)) from exc
        login = f"{dev_login.USERNAME} / {dev_login.PASSWORD}"
        if created:
            self.stdout.write(f"Created the development admin login {login} (DEBUG only).")
        else:
            self.stdout.write(f"Development admin login: user {dev_login.USERNAME!r} exists.")
