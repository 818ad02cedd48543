"""The development login `make run` creates (admin / admin, DEBUG only), and what the
admin's login page tells a first-time editor."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from calculator import dev_login

User = get_user_model()
DEV_LINE = "Development login: <strong>admin</strong> / <strong>admin</strong>"


def run_command() -> str:
    out = StringIO()
    call_command("create_dev_superuser", stdout=out)
    return out.getvalue()


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


def test_with_debug_it_creates_a_superuser_admin_admin(client, db, debug):
    assert "Created the development admin login admin / admin" in run_command()
    user = User.objects.get(username="admin")
    assert user.is_superuser and user.is_staff
    assert client.login(username="admin", password="admin")


def test_a_second_run_leaves_the_existing_account_alone(db, debug):
    run_command()
    user = User.objects.get(username="admin")
    user.set_password("changed-by-the-editor")
    user.save()

    assert "exists" in run_command()
    assert User.objects.filter(username="admin").count() == 1
    assert User.objects.get(username="admin").check_password("changed-by-the-editor")


def test_without_debug_it_refuses_and_creates_nothing(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DEBUG=1"):
        run_command()
    assert not User.objects.exists()


def test_the_login_page_shows_the_dev_login_once_it_exists(client, db, debug):
    run_command()
    page = client.get("/admin/login/").content.decode()
    assert DEV_LINE in page
    assert "never created in production" in page
    assert 'name="username"' in page  # Django's own form is still there


def test_with_debug_but_no_account_the_login_page_says_how_to_get_one(client, db, debug):
    page = client.get("/admin/login/").content.decode()
    assert DEV_LINE not in page
    assert "make run" in page and "createsuperuser" in page


def test_in_production_the_login_page_points_to_createsuperuser_only(client, db, settings):
    settings.DEBUG = False
    User.objects.create_superuser("admin", "", "admin")  # even if someone made one
    page = client.get("/admin/login/").content.decode()
    assert "python manage.py createsuperuser" in page
    assert DEV_LINE not in page and "/ <strong>admin" not in page


def test_the_hint_never_offers_the_dev_password_without_debug(db, settings):
    settings.DEBUG = False
    assert dev_login.login_hint().debug is False
    assert dev_login.login_hint().dev_account_exists is False
