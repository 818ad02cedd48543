"""Sitemap section for kit pages (wired in config/urls.py)."""

from __future__ import annotations

from datetime import datetime

from django.contrib.sitemaps import Sitemap
from django.db.models import QuerySet
from django.urls import reverse

from catalog.models import MemoryKit


class KitListSitemap(Sitemap):
    changefreq = "daily"
    priority = 0.6

    def items(self) -> list[str]:
        return ["catalog:kit-list"]

    def location(self, item: str) -> str:
        return reverse(item)


class KitSitemap(Sitemap):
    """Active kits (retired ones drop out), ``lastmod`` from the kit row."""

    changefreq = "daily"
    priority = 0.5

    def items(self) -> QuerySet[MemoryKit]:
        return MemoryKit.objects.active().order_by("slug")

    def lastmod(self, item: MemoryKit) -> datetime:
        return item.updated_at


SITEMAPS = {"kit-pages": KitListSitemap, "kits": KitSitemap}
