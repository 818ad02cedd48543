"""The development-only admin account that `make run` creates: admin / admin.

Created only while DEBUG is on (``ensure_dev_superuser`` refuses otherwise), so a known
password can never reach production; an existing ``admin`` account is left exactly as
it is. The admin's login page says how to log in (``login_hint``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model

USERNAME = "admin"
PASSWORD = "admin"  # noqa: S105 - documented, development only


class DevLoginRefused(Exception):
    """The development account is never created with DEBUG off."""


def ensure_dev_superuser() -> bool:
    """Create admin / admin when missing; True when it was created now."""
    if not settings.DEBUG:
        raise DevLoginRefused(
            "The admin / admin development account is created only with DEBUG=1; "
            "in production run `python manage.py createsuperuser`."
        )
    users = get_user_model()
    if users.objects.filter(username=USERNAME).exists():
        return False
    users.objects.create_superuser(username=USERNAME, email="", password=PASSWORD)
    return True


@dataclass(frozen=True)
class LoginHint:
    debug: bool
    dev_account_exists: bool
    username: str = USERNAME
    password: str = PASSWORD


def login_hint() -> LoginHint:
    """What the admin login page tells a first-time editor."""
    if not settings.DEBUG:
        return LoginHint(debug=False, dev_account_exists=False)
    exists = get_user_model().objects.filter(username=USERNAME, is_superuser=True).exists()
    return LoginHint(debug=True, dev_account_exists=exists)
