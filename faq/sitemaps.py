from __future__ import annotations

from datetime import datetime

from django.contrib.sitemaps import Sitemap
from django.db.models import QuerySet
from django.urls import reverse

from calculator.models import LlmModel


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


SITEMAPS = {"model-faqs": ModelFaqSitemap, "faq": FaqIndexSitemap}
