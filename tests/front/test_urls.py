"""The URL table: every public route reaches its own view whatever the lookup order
(front/urls.py puts the most requested paths first)."""

import pytest
from django.urls import get_resolver, resolve, reverse

SAMPLE = {"slug": "deepseek-r1"}


def named_routes():
    """(namespaced name, needs a slug) for every named route of the pages (the admin's
    and the API's own tables aside: the API answers GET and POST on one path)."""
    found = []

    def walk(resolver, namespace):
        for entry in resolver.url_patterns:
            if hasattr(entry, "url_patterns"):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                if entry.namespace not in ("admin", "api"):
                    walk(entry, inner)
            elif entry.name:
                found.append((namespace + entry.name, "slug" in entry.pattern.converters))

    walk(get_resolver(), "")
    return found


@pytest.mark.parametrize(("name", "has_slug"), named_routes())
def test_every_named_route_resolves_back_to_itself(name, has_slug):
    path = reverse(name, kwargs=SAMPLE if has_slug else {})
    assert resolve(path).view_name == name
