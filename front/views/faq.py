"""FAQ pages, the per-model social image (SVG and PNG) and robots.txt.

Thin views: ``faq.selectors`` gives the answers (composed by ``faq.builders`` from the
engine, with editors' wording), ``front.seo`` words the metadata; these only pick the
model, answer conditional GETs and render.
Responses carry Cache-Control plus ETag/Last-Modified so a CDN can keep them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from django.db.models import Max
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import condition

from calculator import selectors, services
from calculator.models import HardwareProfile, LlmModel
from faq.models import FaqEntry
from faq.selectors import model_faq as select_model_faq
from faq.selectors import site_faq
from front import images, seo
from front.caching import cached_page
from front.http import safe_only

# Bump when the FAQ templates change, so cached pages get a new ETag.
TEMPLATE_VERSION = "1"
CACHE_SECONDS = 600
CDN_CACHE_SECONDS = 3600


def _model_or_404(slug: str) -> LlmModel:
    model = services.find_model(slug)
    if model is None or model.slug != slug:
        raise Http404("No such model")
    return model


def _moved(slug: str, url_name: str) -> str | None:
    """The 301 target for a renamed slug or a non-canonical spelling of one."""
    model = services.find_model(slug)
    if model is not None and model.slug != slug:
        return reverse(url_name, args=[model.slug])
    if model is None:
        return seo.calculator_redirect(slug, url_name)
    return None


def _latest(*stamps: datetime | None) -> datetime | None:
    present = [s for s in stamps if s is not None]
    return max(present) if present else None


def _hardware_updated() -> datetime | None:
    return HardwareProfile.objects.aggregate(m=Max("updated_at"))["m"]


def _etag(*parts: Any) -> str:
    payload = json.dumps([TEMPLATE_VERSION, *parts], default=str, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


# --- /models/<slug>/faq/ ------------------------------------------------------------------


def _model_faq_etag(request: HttpRequest, slug: str) -> str | None:
    model = services.find_model(slug)
    if model is None or model.slug != slug:
        return None
    faq = select_model_faq(model)
    return _etag(model.slug, model.name, [(qa.question, qa.answer) for qa in faq])


def _model_faq_last_modified(request: HttpRequest, slug: str) -> datetime | None:
    model = services.find_model(slug)
    if model is None or model.slug != slug:
        return None
    edits = FaqEntry.objects.filter(model=model).aggregate(m=Max("updated_at"))["m"]
    return _latest(model.updated_at, edits, _hardware_updated())


@safe_only
@cache_control(public=True, max_age=CACHE_SECONDS, s_maxage=CDN_CACHE_SECONDS)
@condition(etag_func=_model_faq_etag, last_modified_func=_model_faq_last_modified)
def model_faq(request: HttpRequest, slug: str) -> HttpResponse:
    target = _moved(slug, "faq:model-faq")
    if target:
        return HttpResponsePermanentRedirect(target)
    model = _model_or_404(slug)
    faq = select_model_faq(model)
    head = seo.headline(model)
    url = seo.canonical_url(request)
    title = seo.faq_title(head)
    description = seo.faq_description(head)
    crumbs = [
        ("Models", seo.absolute(request, reverse("calculator:model-list"))),
        (model.name, seo.absolute(request, model.get_absolute_url())),
        ("FAQ", url),
    ]
    context = {
        "model": model,
        "faq": faq,
        "title": title,
        "description": description,
        "head_tags": seo.head_tags(
            request,
            title=title,
            description=description,
            canonical=url,
            image_url=seo.absolute(request, reverse("faq:model-og-png", args=[model.slug])),
        ),
        "json_ld": [
            seo.json_ld_script(seo.faq_page(faq)),
            seo.json_ld_script(seo.breadcrumb_list(crumbs)),
        ],
    }
    return render(request, "faq/model_faq.html", context)


# --- /faq/ --------------------------------------------------------------------------------


def _index_etag(request: HttpRequest) -> str:
    models = list(selectors.models().values_list("slug", "name"))
    return _etag([(qa.question, qa.answer) for qa in site_faq()], models)


def _index_last_modified(request: HttpRequest) -> datetime | None:
    edits = FaqEntry.objects.filter(model__isnull=True).aggregate(m=Max("updated_at"))["m"]
    models = LlmModel.objects.published().aggregate(m=Max("updated_at"))["m"]
    return _latest(edits, models)


@safe_only
@cache_control(public=True, max_age=CACHE_SECONDS, s_maxage=CDN_CACHE_SECONDS)
@condition(etag_func=_index_etag, last_modified_func=_index_last_modified)
def index(request: HttpRequest) -> HttpResponse:
    faq = site_faq()
    url = seo.canonical_url(request)
    title = "LLM hardware FAQ: quantization, KV cache, bandwidth and memory types"
    description = (
        "What quantization and the KV cache are, why memory bandwidth sets generation "
        "speed, and how DDR4, DDR5, unified memory and VRAM compare for local LLMs."
    )
    crumbs = [("Home", seo.absolute(request, reverse("calculator:home"))), ("FAQ", url)]
    context = {
        "faq": faq,
        "models": selectors.models(),
        "title": title,
        "description": description,
        "head_tags": seo.head_tags(request, title=title, description=description, canonical=url),
        "json_ld": [
            seo.json_ld_script(seo.faq_page(faq)),
            seo.json_ld_script(seo.breadcrumb_list(crumbs)),
        ],
    }
    return render(request, "faq/index.html", context)


# --- /models/<slug>/og.svg ---------------------------------------------------------------


def _og_etag(request: HttpRequest, slug: str) -> str | None:
    model = services.find_model(slug)
    if model is None or model.slug != slug:
        return None
    return _etag("og", seo.og_svg(seo.headline(model)))


def _og_last_modified(request: HttpRequest, slug: str) -> datetime | None:
    model = services.find_model(slug)
    if model is None or model.slug != slug:
        return None
    return _latest(model.updated_at, _hardware_updated())


@safe_only
@cache_control(public=True, max_age=CDN_CACHE_SECONDS, s_maxage=CDN_CACHE_SECONDS)
@condition(etag_func=_og_etag, last_modified_func=_og_last_modified)
def model_og_image(request: HttpRequest, slug: str) -> HttpResponse:
    target = _moved(slug, "faq:model-og-image")
    if target:
        return HttpResponsePermanentRedirect(target)
    model = _model_or_404(slug)
    return HttpResponse(seo.og_svg(seo.headline(model)), content_type="image/svg+xml")


def _og_png_etag(request: HttpRequest, slug: str) -> str | None:
    svg_etag = _og_etag(request, slug)
    return _etag("png", svg_etag) if svg_etag else None


@safe_only
@cache_control(public=True, max_age=CDN_CACHE_SECONDS, s_maxage=CDN_CACHE_SECONDS)
@condition(etag_func=_og_png_etag, last_modified_func=_og_last_modified)
@cached_page()  # drawn once per data version, then served from the shared cache
def model_og_png(request: HttpRequest, slug: str) -> HttpResponse:
    """The same card as a PNG (``og:image``: most sites show no SVG previews)."""
    target = _moved(slug, "faq:model-og-png")
    if target:
        return HttpResponsePermanentRedirect(target)
    model = _model_or_404(slug)
    png = images.card_png(seo.og_card(seo.headline(model)))
    return HttpResponse(png, content_type="image/png")


# --- /robots.txt ----------------------------------------------------------------------------


@safe_only
@cache_control(public=True, max_age=CDN_CACHE_SECONDS)
def robots_txt(request: HttpRequest) -> HttpResponse:
    lines = [
        "User-agent: *",
        f"Disallow: {reverse('admin:index')}",
        "Disallow: /api/",
        "",
        f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
