from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from django.views.decorators.cache import cache_control

from calculator.api import api
from calculator.sitemaps import SITEMAPS as CALCULATOR_SITEMAPS
from catalog.sitemaps import SITEMAPS as CATALOG_SITEMAPS
from config import health
from faq import views as faq_views
from faq.sitemaps import SITEMAPS as FAQ_SITEMAPS

sitemaps = {**CALCULATOR_SITEMAPS, **FAQ_SITEMAPS, **CATALOG_SITEMAPS}

urlpatterns = [
    path("admin/", admin.site.urls),
    path("kits/", include("catalog.urls")),
    path("api/v1/", api.urls),
    path(
        "sitemap.xml",
        cache_control(public=True, max_age=3600)(sitemap),
        {"sitemaps": sitemaps},
        name="sitemap",
    ),
    path("robots.txt", faq_views.robots_txt, name="robots-txt"),
    path("", include("faq.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("livez", health.livez, name="livez"),
    path("", include("calculator.urls")),
]

handler404 = "calculator.views.not_found"
