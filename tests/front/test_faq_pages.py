import gzip
import io
import re
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse
from django.utils.html import escape
from PIL import Image

from calculator.formatting import gb
from calculator.models import SlugRedirect
from faq import selectors as faq_selectors
from faq.builders import general_faq
from faq.models import FaqEntry
from front import seo
from tests.faq.helpers import assert_valid_faq_page, json_ld, of_type


@pytest.fixture
def faq_url(r1):
    return reverse("faq:model-faq", args=[r1.slug])


def test_model_faq_page_renders_every_answer_with_one_h1_and_a_canonical(client, r1, faq_url):
    response = client.get(faq_url)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert len(re.findall(r'<link rel="canonical"', html)) == 1
    assert f'<link rel="canonical" href="http://testserver{faq_url}">' in html
    for qa in faq_selectors.model_faq(r1):
        assert f"<h3>{escape(qa.question)}</h3>" in html
    assert "Mixture-of-Experts" in html


def test_model_faq_page_has_valid_faqpage_and_breadcrumb_json_ld(client, r1, faq_url):
    html = client.get(faq_url).content.decode()
    faq = of_type(html, "FAQPage")
    assert_valid_faq_page(faq, len(faq_selectors.model_faq(r1)))
    assert faq["mainEntity"][0]["name"] == "How much RAM does DeepSeek R1 need?"
    crumbs = of_type(html, "BreadcrumbList")
    assert [c["position"] for c in crumbs["itemListElement"]] == [1, 2, 3]
    assert crumbs["itemListElement"][-1]["item"] == f"http://testserver{faq_url}"


def test_model_faq_title_and_description_come_from_the_engine(client, r1, faq_url):
    head = seo.headline(r1)
    html = client.get(faq_url).content.decode()
    assert f"<title>{seo.faq_title(head)}</title>" in html
    assert f"{head.ram_gb} GB at Q4_K_M" in html
    assert gb(head.weights_bytes) in html


def test_model_faq_has_social_tags_with_the_png_og_image(client, r1, faq_url):
    html = client.get(faq_url).content.decode()
    image = reverse("faq:model-og-png", args=[r1.slug])
    assert f'<meta property="og:image" content="http://testserver{image}">' in html
    assert '<meta property="og:image:type" content="image/png">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html


def test_unknown_model_faq_is_404(client, catalog):
    assert client.get(reverse("faq:model-faq", args=["no-such-model"])).status_code == 404


def test_renamed_model_faq_redirects_permanently(client, r1):
    SlugRedirect.objects.create(old_slug="deepseek-r1-old", model=r1)
    response = client.get(reverse("faq:model-faq", args=["deepseek-r1-old"]))
    assert response.status_code == 301
    assert response["Location"] == reverse("faq:model-faq", args=[r1.slug])


def test_uppercase_slug_redirects_to_the_canonical_faq(client, r1):
    response = client.get(reverse("faq:model-faq", args=["DeepSeek-R1"]))
    assert response.status_code == 301
    assert response["Location"] == reverse("faq:model-faq", args=["deepseek-r1"])


def test_model_faq_is_cacheable_by_a_cdn_and_served_from_the_response_cache(client, r1, faq_url):
    response = client.get(faq_url)
    assert "public" in response["Cache-Control"]
    assert "max-age=" in response["Cache-Control"]
    again = client.get(faq_url, HTTP_ACCEPT_ENCODING="gzip")
    assert again["Content-Encoding"] == "gzip"  # the stored, compressed copy
    assert gzip.decompress(again.content) == response.content
    assert "max-age=" in again["Cache-Control"]


def test_editing_an_answer_shows_on_the_next_request(client, r1, faq_url):
    assert "Is it open?" not in client.get(faq_url).content.decode()
    FaqEntry.objects.create(model=r1, question="Is it open?", answer="Yes, MIT licence.")
    assert "Is it open?" in client.get(faq_url).content.decode()


def test_editor_html_is_escaped(client, r1, faq_url):
    FaqEntry.objects.create(
        model=r1, question="<b>Bold?</b>", answer='<script>alert("x")</script> plain'
    )
    html = client.get(faq_url).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html
    assert "&lt;b&gt;Bold?&lt;/b&gt;" in html
    faq = of_type(html, "FAQPage")  # and the JSON-LD still parses
    assert faq["mainEntity"][-1]["acceptedAnswer"]["text"].startswith("<script>")


def test_override_that_agrees_with_the_engine_replaces_the_wording(client, r1, faq_url):
    head = seo.headline(r1)
    FaqEntry.objects.create(
        model=r1,
        key="ram",
        answer=f"Budget {head.ram_gb} GB for Q4_K_M; the weights alone are "
        f"{gb(head.weights_bytes)}.",
    )
    html = client.get(faq_url).content.decode()
    assert f"Budget {head.ram_gb} GB for Q4_K_M" in html


def test_override_whose_numbers_drift_is_not_shown(client, r1, faq_url):
    FaqEntry.objects.create(model=r1, key="ram", answer="R1 needs 1024 GB and 377 GB weights.")
    html = client.get(faq_url).content.decode()
    assert "377 GB weights" not in html
    assert next(qa for qa in faq_selectors.model_faq(r1) if qa.key == "ram").source == "generated"


def test_unpublished_entries_are_hidden(client, r1, faq_url):
    FaqEntry.objects.create(model=r1, question="Hidden?", answer="Yes.", is_published=False)
    assert "Hidden?" not in client.get(faq_url).content.decode()


def test_general_faq_page_renders_with_faqpage_json_ld(client, catalog):
    response = client.get(reverse("faq:index"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert "What is quantization?" in html and "What is the KV cache?" in html
    assert_valid_faq_page(of_type(html, "FAQPage"), len(faq_selectors.site_faq()))
    assert reverse("faq:model-faq", args=["deepseek-r1"]) in html
    assert "max-age=" in response["Cache-Control"]


def test_general_faq_shows_site_wide_editor_questions(client, catalog):
    FaqEntry.objects.create(question="Do you sell RAM?", answer="No, we link to retailers.")
    html = client.get(reverse("faq:index")).content.decode()
    assert "Do you sell RAM?" in html
    assert len(of_type(html, "FAQPage")["mainEntity"]) == len(general_faq()) + 1


def test_og_image_is_an_svg_with_the_headline_numbers(client, r1):
    response = client.get(reverse("faq:model-og-image", args=[r1.slug]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    head = seo.headline(r1)
    assert f"{head.ram_gb} GB" in text and gb(head.weights_bytes) in text
    assert "max-age=" in response["Cache-Control"]


def test_og_png_is_a_1200_by_630_image_drawn_on_the_server(client, r1):
    response = client.get(reverse("faq:model-og-png", args=[r1.slug]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size == (1200, 630)
    assert len(image.convert("L").getcolors(256) or ()) > 20  # text drawn, not a blank card
    assert "max-age=" in response["Cache-Control"]


def test_og_png_and_svg_say_the_same_lines(r1):
    card = seo.og_card(seo.headline(r1))
    svg = seo.og_svg(seo.headline(r1))
    for line in card.lines:
        assert escape(line.text) in svg


def test_og_png_404_and_301(client, r1):
    assert client.get(reverse("faq:model-og-png", args=["nope"])).status_code == 404
    SlugRedirect.objects.create(old_slug="r1", model=r1)
    moved = client.get(reverse("faq:model-og-png", args=["r1"]))
    assert moved.status_code == 301
    assert moved["Location"] == reverse("faq:model-og-png", args=[r1.slug])


def test_og_image_404_and_301(client, r1):
    assert client.get(reverse("faq:model-og-image", args=["nope"])).status_code == 404
    SlugRedirect.objects.create(old_slug="r1", model=r1)
    moved = client.get(reverse("faq:model-og-image", args=["r1"]))
    assert moved.status_code == 301
    assert moved["Location"] == reverse("faq:model-og-image", args=[r1.slug])


def test_model_faq_include_renders_alone_with_only_faq(r1):
    from django.template.loader import render_to_string

    html = render_to_string("faq/_model_faq.html", {"faq": faq_selectors.model_faq(r1)})
    assert html.count("<h3>") == len(faq_selectors.model_faq(r1))
    assert reverse("faq:model-faq", args=[r1.slug]) in html
    assert json_ld(html) == []  # structured data goes in the page head, via faq.json_ld
