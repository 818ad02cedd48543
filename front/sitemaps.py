"""Sitemap sections for every public page (wired in front/urls.py)."""

from __future__ import annotations

from datetime import datetime

from django.contrib.sitemaps import Sitemap
from django.db.models import QuerySet
from django.urls import reverse

from calculator import services
from calculator.models import HardwareProfile, LlmModel
from catalog.models import MemoryKit


class StaticPagesSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.7

    def items(self) -> list[str]:
        return [
            "calculator:home",
            "calculator:model-list",
            "calculator:hardware-list",
            "calculator:build-list",
            "calculator:methodology",
        ]

    def location(self, item: str) -> str:
        return reverse(item)


class ModelSitemap(Sitemap):
    """Every published model's page (its default state; query strings are not listed)."""

    changefreq = "weekly"
    priority = 0.9

    def items(self) -> QuerySet[LlmModel]:
        return LlmModel.objects.published().order_by("slug")

    def lastmod(self, item: LlmModel) -> datetime:
        return item.updated_at


class HardwareSitemap(Sitemap):
    changefreq = "monthly"
    priority = 0.6

    def items(self) -> QuerySet[HardwareProfile]:
        return HardwareProfile.objects.listed()

    def location(self, item: HardwareProfile) -> str:
        return reverse("calculator:hardware-detail", args=[item.slug])

    def lastmod(self, item: HardwareProfile) -> datetime:
        return item.updated_at


class ModelFaqSitemap(Sitemap):
    """/models/<slug>/faq/ for every published model."""

    changefreq = "weekly"
    priority = 0.6

    def items(self) -> QuerySet[LlmModel]:
        return LlmModel.objects.published().order_by("slug")

    def location(self, item: LlmModel) -> str:
        return reverse("faq:model-faq", args=[item.slug])

    def lastmod(self, item: LlmModel) -> datetime:
        return item.updated_at


class FaqIndexSitemap(Sitemap):
    changefreq = "monthly"
    priority = 0.5

    def items(self) -> list[str]:
        return ["faq:index"]

    def location(self, item: str) -> str:
        return reverse(item)


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


class BuildSitemap(Sitemap):
    """Every preset build's page (builds.json)."""

    changefreq = "monthly"
    priority = 0.6

    def items(self) -> list[str]:
        return [b.slug for b in services.preset_builds(services.hardware_set())]

    def location(self, item: str) -> str:
        return reverse("calculator:build-detail", args=[item])


SITEMAPS = {
    "pages": StaticPagesSitemap,
    "models": ModelSitemap,
    "hardware": HardwareSitemap,
    "builds": BuildSitemap,
    "model-faqs": ModelFaqSitemap,
    "faq": FaqIndexSitemap,
    "kit-pages": KitListSitemap,
    "kits": KitSitemap,
}
