"""Display filters (``front/templatetags/calc.py``) that stand in for Django's own."""

from datetime import UTC, datetime

import pytest
from django.template import engines


def render(source, **context):
    return engines["django"].from_string("{% load calc %}" + source).render(context)


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
@pytest.mark.parametrize("moment", [datetime(2026, 1, 15, 23, 5, 9, 123456, tzinfo=UTC),
                                    datetime(2026, 7, 1, 0, 0, tzinfo=UTC)])  # fmt: skip
def test_as_of_writes_what_djangos_date_filters_write(settings, zone, moment):
    settings.TIME_ZONE = zone
    django = '<time datetime="{{ m|date:\'c\' }}">{{ m|date:"Y-m-d H:i T" }}</time>'
    assert render("{{ m|as_of }}", m=moment) == render(django, m=moment)


def test_as_of_of_nothing_is_nothing():
    assert render("{{ m|as_of }}", m=None) == ""
