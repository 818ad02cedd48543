"""Search and social metadata: titles, descriptions, canonical URLs, JSON-LD,
OpenGraph/Twitter tags and the per-model social image.

Every number comes from an engine result handed in (or from ``headline``, which
asks the engine through ``services``); this module only words and escapes it.
JSON-LD builders take plain values and dicts, so any app can call them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from calculator import services
from calculator.engine.estimate import Estimate, Options
from calculator.engine.speed import SpeedEstimate
from calculator.formatting import ctx, gb, params, tps
from calculator.models import LlmModel
from calculator.options import DEFAULTS
from calculator.selectors import redirect_target
from catalog.models import FRESHNESS
from front.images import CARD_BACKGROUND, CARD_HEIGHT, CARD_MARGIN, CARD_WIDTH, Card, CardLine

SCHEMA = "https://schema.org"
SITE_NAME = "LLM RAM"
DESCRIPTION_LIMIT = 160
# A price is valid for as long as the catalog shows it as fresh.
PRICE_VALID_FOR = FRESHNESS


def _ram(ram_gb: int | None) -> str:
    return f"{ram_gb} GB" if ram_gb else "over 2 TB"


# --- headline numbers -----------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The figures a model's title, description and social card state."""

    name: str
    slug: str
    is_moe: bool
    total_params: int
    active_params: int
    native_dtype: str
    context_length: int
    estimate: Estimate
    fastest: SpeedEstimate | None

    @property
    def quant(self) -> str:
        return self.estimate.options.quant

    @property
    def context(self) -> int:
        return self.estimate.options.context

    @property
    def ram_gb(self) -> int | None:
        return self.estimate.recommended_ram_gb

    @property
    def weights_bytes(self) -> int:
        return self.estimate.memory.weights_bytes

    @property
    def total_bytes(self) -> int:
        return self.estimate.memory.total_bytes

    @property
    def size_label(self) -> str:
        if self.is_moe:
            return f"{params(self.total_params)} MoE, {params(self.active_params)} active"
        return f"{params(self.total_params)} dense"


def fastest_fit(est: Estimate) -> SpeedEstimate | None:
    """The fastest profile that holds the whole model (no offload)."""
    fits = [s for s in est.speeds if s.fits and s.tokens_per_s]
    return max(fits, key=lambda s: s.tokens_per_s or 0, default=None)


def headline_from(model: LlmModel, est: Estimate) -> Headline:
    arch = est.arch
    return Headline(
        name=model.name,
        slug=model.slug,
        is_moe=arch.is_moe,
        total_params=arch.total_params,
        active_params=arch.active_params,
        native_dtype=arch.native_dtype,
        context_length=arch.n_ctx_train,
        estimate=est,
        fastest=fastest_fit(est),
    )


def headline(model: LlmModel, options: Options = DEFAULTS) -> Headline:
    """The model page's default estimate (memoised)."""
    hardware = services.hardware_set()
    est = services.estimate_for(services.architecture_of(model), options, hardware)
    return headline_from(model, est)


# --- titles and descriptions -----------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def _sentences(parts: list[str], limit: int) -> str:
    """As many whole sentences as fit ``limit`` (the first is clipped if it must be)."""
    text = parts[0]
    for part in parts[1:]:
        if len(text) + 1 + len(part) <= limit:
            text += " " + part
    return _clip(text, limit)


def model_title(h: Headline) -> str:
    """ "DeepSeek R1 RAM requirements: 512 GB for Q4_K_M (404 GB weights)"."""
    return (
        f"{h.name} RAM requirements: {_ram(h.ram_gb)} for {h.quant} ({gb(h.weights_bytes)} weights)"
    )


def model_state_title(h: Headline) -> str:
    """The tab title for any calculator state: the SEO title for the default options (the
    canonical page), else the state itself, so tabs and history entries tell apart."""
    if h.estimate.options == DEFAULTS:
        return model_title(h)
    return f"{h.name} at {h.quant}, {ctx(h.context)} context: {_ram(h.ram_gb)} of RAM"


def model_description(h: Headline) -> str:
    parts = [
        f"{h.name} ({h.size_label}) needs {gb(h.total_bytes)} at {h.quant} with "
        f"{ctx(h.context)} context: plan for {_ram(h.ram_gb)} of RAM."
    ]
    if h.fastest is not None:
        parts.append(f"Fastest: {tps(h.fastest.tokens_per_s)} tok/s on {h.fastest.hardware.name}.")
    parts.append("Every quant, GPU, Mac and PC.")
    return _sentences(parts, DESCRIPTION_LIMIT)


def faq_title(h: Headline) -> str:
    return f"{h.name} FAQ: RAM, speed and hardware ({_ram(h.ram_gb)} at {h.quant})"


def faq_description(h: Headline) -> str:
    return _clip(
        f"Answers for {h.name}: {_ram(h.ram_gb)} of RAM at {h.quant}, "
        f"{gb(h.weights_bytes)} of weights, {h.size_label}, context up to "
        f"{ctx(h.context_length)}, which GPUs and Macs run it and how fast.",
        DESCRIPTION_LIMIT,
    )


# --- canonical URLs, robots --------------------------------------------------------------


def absolute(request: HttpRequest, path: str) -> str:
    return request.build_absolute_uri(path)


def canonical_url(request: HttpRequest, path: str | None = None) -> str:
    """The page's URL without its query string: every calculator state of a model page
    canonicalizes to the model's default page."""
    return absolute(request, path if path is not None else request.path)


def robots_content(request: HttpRequest) -> str:
    """``noindex`` for query-string permutations (they duplicate the default page).

    Behind ``front.caching`` the query holds only the page's own parameters, written
    canonically: tracking parameters never make a page ``noindex``."""
    return "noindex, follow" if request.GET else "index, follow"


def calculator_redirect(slug: str, url_name: str = "calculator:model-detail") -> str | None:
    """Where a renamed model slug lives now (for a 301), or None.

    ``url_name`` picks the page: the model page, ``faq:model-faq`` or
    ``faq:model-og-image``; every model URL takes the slug as its only argument.
    """
    model = redirect_target(slug)
    return reverse(url_name, args=[model.slug]) if model is not None else None


# --- JSON-LD ----------------------------------------------------------------------------

_JSON_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def json_ld_script(data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> SafeString:
    """A ``<script type="application/ld+json">`` element, safe against ``</script>``."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_JSON_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{text}</script>')  # noqa: S308


class _QuestionLike(Protocol):
    # Read-only members, so frozen dataclasses (faq.builders.QA) match.
    @property
    def question(self) -> str: ...
    @property
    def answer(self) -> str: ...


def faq_page(entries: Iterable[_QuestionLike | tuple[str, str]]) -> dict[str, Any]:
    """schema.org FAQPage from questions with plain-text answers."""
    items = []
    for entry in entries:
        question, answer = entry if isinstance(entry, tuple) else (entry.question, entry.answer)
        items.append(
            {
                "@type": "Question",
                "name": question,
                "acceptedAnswer": {"@type": "Answer", "text": answer},
            }
        )
    return {"@context": SCHEMA, "@type": "FAQPage", "mainEntity": items}


def breadcrumb_list(crumbs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """schema.org BreadcrumbList from (name, absolute URL) pairs, outermost first."""
    return {
        "@context": SCHEMA,
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": i, "name": name, "item": url}
            for i, (name, url) in enumerate(crumbs, start=1)
        ],
    }


AVAILABILITY = {
    "in_stock": f"{SCHEMA}/InStock",
    "out_of_stock": f"{SCHEMA}/OutOfStock",
    "preorder": f"{SCHEMA}/PreOrder",
    "backorder": f"{SCHEMA}/BackOrder",
    "limited": f"{SCHEMA}/LimitedAvailability",
    "discontinued": f"{SCHEMA}/Discontinued",
}


def _iso(value: date | datetime | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


def product(kit: Mapping[str, Any], offers: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """schema.org Product with an Offer per fresh price.

    ``kit``: name, url, and optionally brand, mpn, sku, description, image.
    ``offers``: price (Decimal/str), currency, url, seller, availability (catalog
    value such as "in_stock"), checked_at (datetime); offers without a price are
    left out, and each is valid until ``checked_at + PRICE_VALID_FOR`` unless a
    ``price_valid_until`` is given.
    """
    data: dict[str, Any] = {"@context": SCHEMA, "@type": "Product", "name": kit["name"]}
    for key in ("url", "description", "image", "mpn", "sku"):
        if kit.get(key):
            data[key] = kit[key]
    if kit.get("brand"):
        data["brand"] = {"@type": "Brand", "name": kit["brand"]}
    out = []
    for offer in offers:
        if offer.get("price") is None:
            continue
        valid_until = offer.get("price_valid_until") or (
            offer["checked_at"] + PRICE_VALID_FOR if offer.get("checked_at") else None
        )
        item: dict[str, Any] = {
            "@type": "Offer",
            "price": str(Decimal(str(offer["price"])).quantize(Decimal("0.01"))),
            "priceCurrency": offer["currency"],
        }
        if valid_until:
            item["priceValidUntil"] = _iso(valid_until)
        if offer.get("url"):
            item["url"] = offer["url"]
        if offer.get("availability"):
            item["availability"] = AVAILABILITY.get(offer["availability"], offer["availability"])
        if offer.get("seller"):
            item["seller"] = {"@type": "Organization", "name": offer["seller"]}
        out.append(item)
    if out:
        data["offers"] = out[0] if len(out) == 1 else out
    return data


def tech_article(
    *, headline: str, description: str, url: str, date_modified: date | datetime | str,
    author: str = SITE_NAME,
) -> dict[str, Any]:  # fmt: skip
    """schema.org TechArticle for the methodology page."""
    return {
        "@context": SCHEMA,
        "@type": "TechArticle",
        "headline": headline[:110],
        "description": description,
        "url": url,
        "mainEntityOfPage": url,
        "dateModified": _iso(date_modified),
        "author": {"@type": "Organization", "name": author},
        "publisher": {"@type": "Organization", "name": author},
    }


def dataset(
    *, name: str, description: str, url: str, date_modified: date | datetime | str,
    variables: Sequence[str] = (), creator: str = SITE_NAME,
    license_url: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """schema.org Dataset (e.g. the measured-vs-predicted validation table)."""
    data: dict[str, Any] = {
        "@context": SCHEMA,
        "@type": "Dataset",
        "name": name,
        "description": description,
        "url": url,
        "dateModified": _iso(date_modified),
        "creator": {"@type": "Organization", "name": creator},
    }
    if variables:
        data["variableMeasured"] = list(variables)
    if license_url:
        data["license"] = license_url
    return data


# --- OpenGraph / Twitter ------------------------------------------------------------------


def social_meta(
    *, title: str, description: str, url: str, image_url: str | None = None,
    image_alt: str = "", og_type: str = "website",
) -> SafeString:  # fmt: skip
    """OpenGraph and Twitter card ``<meta>`` tags (every value escaped)."""
    props = [
        ("og:site_name", SITE_NAME), ("og:type", og_type), ("og:title", title),
        ("og:description", description), ("og:url", url),
    ]  # fmt: skip
    names = [
        ("twitter:card", "summary_large_image" if image_url else "summary"),
        ("twitter:title", title),
        ("twitter:description", description),
    ]
    if image_url:
        props += [("og:image", image_url), ("og:image:alt", image_alt or title)]
        props += [("og:image:width", str(OG_WIDTH)), ("og:image:height", str(OG_HEIGHT))]
        if image_url.endswith(".png"):
            props.append(("og:image:type", "image/png"))
        names += [("twitter:image", image_url), ("twitter:image:alt", image_alt or title)]
    return (
        format_html_join("\n", '<meta property="{}" content="{}">', props)
        + mark_safe("\n")
        + format_html_join("\n", '<meta name="{}" content="{}">', names)
    )


def head_tags(
    request: HttpRequest, *, title: str, description: str, canonical: str,
    image_url: str | None = None,
) -> SafeString:  # fmt: skip
    """Canonical link, robots meta and social tags for a page's ``head_meta`` block."""
    return (
        format_html('<link rel="canonical" href="{}">\n', canonical)
        + format_html('<meta name="robots" content="{}">\n', robots_content(request))
        + social_meta(title=title, description=description, url=canonical, image_url=image_url)
    )


# --- the per-model social card (SVG here, PNG in front.images) --------------------------

OG_WIDTH, OG_HEIGHT = CARD_WIDTH, CARD_HEIGHT


def og_card(h: Headline) -> Card:
    """A model's 1200×630 social card: its name and headline numbers, line by line."""
    lines = [
        CardLine(_clip(h.name, 36), 56, 110, True, "#ffffff"),
        CardLine(_ram(h.ram_gb), 150, 270, True, "#00bb66"),
        CardLine(f"of RAM for {h.quant} @ {ctx(h.context)} context", 40, 340, False, "#e6e6e6"),
        CardLine(f"{gb(h.weights_bytes)} of weights · {h.size_label}", 40, 400, False, "#e6e6e6"),
    ]
    if h.fastest is not None:
        fastest = f"{tps(h.fastest.tokens_per_s)} tok/s on {h.fastest.hardware.name}"
        lines.append(CardLine(_clip(fastest, 60), 34, 460, False, "#bbbbbb"))
    lines.append(CardLine(f"{SITE_NAME} · RAM and speed calculator", 28, 590, False, "#888888"))
    return Card(label=model_title(h), lines=tuple(lines))


def og_svg(h: Headline) -> str:
    """The social card as SVG; text is XML-escaped."""
    card = og_card(h)
    body = format_html_join(
        "\n",
        '<text x="{}" y="{}" font-size="{}" font-weight="{}" fill="{}">{}</text>',
        (
            (CARD_MARGIN, line.y, line.size, "700" if line.bold else "400", line.colour, line.text)
            for line in card.lines
        ),
    )
    return str(
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            'viewBox="0 0 {w} {h}" font-family="system-ui, -apple-system, Segoe UI, Roboto, '
            'sans-serif" role="img" aria-label="{label}">\n'
            '<rect width="{w}" height="{h}" fill="{background}"/>\n{body}\n</svg>\n',
            w=OG_WIDTH,
            h=OG_HEIGHT,
            label=card.label,
            background=CARD_BACKGROUND,
            body=body,
        )
    )
