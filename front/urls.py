"""Every public URL. Read this file first: each path names the view that answers it.

URL names keep the namespaces the site has always used (``calculator:``, ``catalog:``,
``faq:``), so ``{% url %}`` tags, ``get_absolute_url`` and bookmarks keep working.
"""

from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from django.views.decorators.cache import cache_control

from front.api import api
from front.http import safe_only
from front.sitemaps import SITEMAPS
from front.views import builds, calculator, faq, icons, kits

calculator_urls = [
    path("", calculator.home, name="home"),
    # models
    path("models/", calculator.model_list, name="model-list"),
    path("models/<str:slug>/", calculator.model_detail, name="model-detail"),
    # hardware: "what can I run"
    path("hardware/", calculator.hardware_list, name="hardware-list"),
    path("hardware/<slug:slug>/", calculator.hardware_detail, name="hardware-detail"),
    # builds: preset machines people run
    path("builds/", builds.build_list, name="build-list"),
    path("builds/<slug:slug>/", builds.build_detail, name="build-detail"),
    path("compare/", calculator.compare, name="compare"),
    path("methodology/", calculator.methodology, name="methodology"),
]

kit_urls = [
    path("", kits.kit_list, name="kit-list"),
    path("<slug:slug>/", kits.kit_detail, name="kit-detail"),
]

faq_urls = [
    path("faq/", faq.index, name="index"),
    # per model, next to the model page
    path("models/<str:slug>/faq/", faq.model_faq, name="model-faq"),
    path("models/<str:slug>/og.svg", faq.model_og_image, name="model-og-image"),
    path("models/<str:slug>/og.png", faq.model_og_png, name="model-og-png"),
]

# The order is the order of the lookup: the API and the calculator's pages (the most
# requested paths) first. No two patterns match one path, so the order changes nothing else.
urlpatterns = [
    path("api/v1/", api.urls),
    path("", include((calculator_urls, "calculator"))),
    path("", include((faq_urls, "faq"))),
    path("kits/", include((kit_urls, "catalog"))),
    path(
        "sitemap.xml",
        safe_only(cache_control(public=True, max_age=3600)(sitemap)),
        {"sitemaps": SITEMAPS},
        name="sitemap",
    ),
    path("robots.txt", faq.robots_txt, name="robots-txt"),
    # the site icon, for browsers that ask for it by these names
    path("favicon.svg", icons.favicon_svg, name="favicon-svg"),
    path("favicon.ico", icons.favicon_ico, name="favicon-ico"),
    path("apple-touch-icon.png", icons.apple_touch_icon, name="apple-touch-icon"),
]
