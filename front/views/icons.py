"""The site icon at the addresses browsers ask for (``/favicon.ico`` without being told),
drawn by ``front.images`` from one set of shapes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control

from front import images
from front.http import safe_only

ICON_SECONDS = 7 * 24 * 3600


@safe_only
@cache_control(public=True, max_age=ICON_SECONDS)
def favicon_svg(request: HttpRequest) -> HttpResponse:
    return HttpResponse(images.icon_svg(), content_type="image/svg+xml")


@safe_only
@cache_control(public=True, max_age=ICON_SECONDS)
def favicon_ico(request: HttpRequest) -> HttpResponse:
    return HttpResponse(images.icon_ico(), content_type="image/x-icon")


@safe_only
@cache_control(public=True, max_age=ICON_SECONDS)
def apple_touch_icon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(images.icon_png(180), content_type="image/png")
