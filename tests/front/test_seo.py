import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.urls import reverse

from calculator import services
from calculator.formatting import gb
from calculator.models import LlmModel, SlugRedirect
from calculator.options import DEFAULTS
from front import seo
from front.presenters.model_page import calculation


@pytest.fixture
def r1(catalog):
    return services.find_model("deepseek-r1")


def test_model_title_states_the_engines_ram_and_weights(r1, hardware):
    est = calculation(r1, DEFAULTS, hardware).estimate
    title = seo.model_title(seo.headline(r1))
    assert title == (
        f"DeepSeek R1 RAM requirements: {est.recommended_ram_gb} GB for Q4_K_M "
        f"({gb(est.memory.weights_bytes)} weights)"
    )


def test_every_model_has_a_unique_title_and_a_short_description(catalog):
    titles, descriptions = set(), set()
    for model in LlmModel.objects.published():
        head = seo.headline(model)
        titles.add(seo.model_title(head))
        description = seo.model_description(head)
        assert len(description) <= seo.DESCRIPTION_LIMIT
        assert model.name in description
        descriptions.add(description)
    count = LlmModel.objects.published().count()
    assert len(titles) == count and len(descriptions) == count


def test_description_says_moe_with_active_params_for_moe_and_dense_otherwise(catalog):
    assert "MoE" in seo.model_description(seo.headline(services.find_model("deepseek-r1")))
    dense = seo.model_description(seo.headline(services.find_model("llama-3.1-8b-instruct")))
    assert "dense" in dense and "MoE" not in dense


def test_headline_fastest_is_a_profile_that_fits_whole(r1):
    head = seo.headline(r1)
    assert head.fastest is not None and head.fastest.fits
    assert head.fastest.tokens_per_s == max(
        s.tokens_per_s for s in head.estimate.speeds if s.fits and s.tokens_per_s
    )


def test_canonical_url_drops_the_query_string_and_robots_noindexes_permutations():
    request = RequestFactory().get("/models/deepseek-r1/?quant=Q8_0&context=32768")
    assert seo.canonical_url(request) == "http://testserver/models/deepseek-r1/"
    assert seo.robots_content(request) == "noindex, follow"
    assert seo.robots_content(RequestFactory().get("/models/deepseek-r1/")) == "index, follow"


def test_calculator_redirect_finds_renamed_slugs(r1):
    SlugRedirect.objects.create(old_slug="deepseek-r1-0528", model=r1)
    assert seo.calculator_redirect("deepseek-r1-0528") == r1.get_absolute_url()
    assert seo.calculator_redirect("deepseek-r1-0528", "faq:model-faq") == reverse(
        "faq:model-faq", args=[r1.slug]
    )
    assert seo.calculator_redirect("never-existed") is None


def test_json_ld_script_cannot_be_closed_by_content():
    script = seo.json_ld_script(seo.faq_page([("Q</script><b>", "A & <i>")]))
    assert script.count("</script>") == 1
    body = script.removeprefix('<script type="application/ld+json">').removesuffix("</script>")
    data = json.loads(body)
    assert data["mainEntity"][0]["name"] == "Q</script><b>"
    assert data["mainEntity"][0]["acceptedAnswer"]["text"] == "A & <i>"


def test_faq_page_has_the_required_properties():
    data = seo.faq_page([("What?", "This.")])
    assert data["@context"] == "https://schema.org" and data["@type"] == "FAQPage"
    assert data["mainEntity"] == [
        {"@type": "Question", "name": "What?",
         "acceptedAnswer": {"@type": "Answer", "text": "This."}},
    ]  # fmt: skip


def test_breadcrumb_list_numbers_items_from_one():
    data = seo.breadcrumb_list([("Models", "https://x/models/"), ("R1", "https://x/models/r1/")])
    assert data["@type"] == "BreadcrumbList"
    assert [(i["position"], i["name"], i["item"]) for i in data["itemListElement"]] == [
        (1, "Models", "https://x/models/"),
        (2, "R1", "https://x/models/r1/"),
    ]


def test_product_offers_carry_price_valid_until_and_skip_missing_prices():
    checked = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    data = seo.product(
        {"name": "Kit 2×32 GB", "url": "https://x/kits/k/", "brand": "Acme", "mpn": "A-1"},
        [
            {"price": Decimal("199.9"), "currency": "USD", "url": "https://shop/k",
             "seller": "Shop", "availability": "in_stock", "checked_at": checked},
            {"price": None, "currency": "USD", "checked_at": checked},
        ],
    )  # fmt: skip
    assert data["@type"] == "Product" and data["name"] == "Kit 2×32 GB"
    assert data["brand"] == {"@type": "Brand", "name": "Acme"}
    offer = data["offers"]
    assert offer["@type"] == "Offer"
    assert offer["price"] == "199.90" and offer["priceCurrency"] == "USD"
    assert offer["priceValidUntil"] == (checked + seo.PRICE_VALID_FOR).isoformat()
    assert offer["availability"] == "https://schema.org/InStock"
    json.dumps(data)


def test_product_without_fresh_prices_has_no_offers():
    assert "offers" not in seo.product({"name": "Kit"}, [{"price": None, "currency": "EUR"}])


def test_methodology_structured_data_has_required_properties():
    article = seo.tech_article(
        headline="How we calculate", description="d", url="https://x/m/", date_modified="2025-01-01"
    )
    assert article["@type"] == "TechArticle" and article["headline"] and article["dateModified"]
    data = seo.dataset(
        name="Validation", description="Predicted vs measured", url="https://x/m/",
        date_modified="2025-01-01", variables=["tokens/s"],
    )  # fmt: skip
    assert data["@type"] == "Dataset" and data["name"] and data["description"]
    assert data["variableMeasured"] == ["tokens/s"]


def test_social_meta_escapes_values():
    html = seo.social_meta(
        title='R1 "quoted" <b>', description="d", url="https://x/", image_url="https://x/og.svg"
    )
    assert "&quot;quoted&quot; &lt;b&gt;" in html
    assert '<meta property="og:image" content="https://x/og.svg">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html


def test_head_tags_have_one_canonical_and_robots():
    request = RequestFactory().get("/models/x/?quant=Q8_0")
    html = seo.head_tags(request, title="t", description="d", canonical=seo.canonical_url(request))
    assert html.count('rel="canonical"') == 1
    assert '<link rel="canonical" href="http://testserver/models/x/">' in html
    assert '<meta name="robots" content="noindex, follow">' in html


def test_og_svg_escapes_the_model_name(r1):
    r1.name = "R1 <&> test"
    svg = seo.og_svg(seo.headline(r1))
    assert "R1 &lt;&amp;&gt; test" in svg and "<&>" not in svg


def test_methodology_page_carries_tech_article_and_dataset_json_ld(client, site_data):
    import json
    import re

    html = client.get("/methodology/").content.decode()
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    types = {
        item["@type"]
        for block in blocks
        for item in (lambda d: d if isinstance(d, list) else [d])(json.loads(block))
    }
    assert {"TechArticle", "Dataset"} <= types
