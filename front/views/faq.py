"""FAQ pages, the per-model social image (SVG and PNG) and robots.txt.

Thin views: ``faq.selectors`` gives the answers (composed by ``faq.builders`` from the
engine, with editors' wording), ``front.seo`` words the metadata; these only pick the
model and render. Each is served from the whole-response cache (``front.caching``,
invalidated with the data it shows) and carries Cache-Control so a CDN can keep it.
"""

from __future__ import annotations

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import cache_control

from calculator import selectors, services
from calculator.models import LlmModel
from faq.selectors import model_faq as select_model_faq
from faq.selectors import site_faq
from front import images, seo
from front.caching import cached_page
from front.http import safe_only

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


# --- /models/<slug>/faq/ ------------------------------------------------------------------


@safe_only
@cache_control(public=True, max_age=CACHE_SECONDS, s_maxage=CDN_CACHE_SECONDS)
@cached_page()
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


@safe_only
@cache_control(public=True, max_age=CACHE_SECONDS, s_maxage=CDN_CACHE_SECONDS)
@cached_page()
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


@safe_only
@cache_control(public=True, max_age=CDN_CACHE_SECONDS, s_maxage=CDN_CACHE_SECONDS)
@cached_page()
def model_og_image(request: HttpRequest, slug: str) -> HttpResponse:
    target = _moved(slug, "faq:model-og-image")
    if target:
        return HttpResponsePermanentRedirect(target)
    model = _model_or_404(slug)
    return HttpResponse(seo.og_svg(seo.headline(model)), content_type="image/svg+xml")


@safe_only
@cache_control(public=True, max_age=CDN_CACHE_SECONDS, s_maxage=CDN_CACHE_SECONDS)
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
