"""On a 390 px phone: no page scrolls sideways, the answer (RAM to buy, fit, tokens/s,
price) is on screen, tables that must scroll say so, chart labels are readable; every
page has its icon and no broken sub-request."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.pages import R1, public_pages

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

WIDTH = PHONE["width"]


def within_screen(page, selector):
    boxes = [el.bounding_box() for el in page.locator(selector).all()]
    assert boxes, selector
    for box in boxes:
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, (
            selector,
            box,
        )


def test_no_public_page_scrolls_sideways_on_a_phone(open_page, live_catalog):
    page = open_page(PHONE)
    for url in public_pages():
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, url


def test_the_answer_is_on_a_phone_screen_without_scrolling_sideways(open_page, live_catalog):
    page = open_page(PHONE)
    page.goto(R1)
    within_screen(page, "[data-testid=ram]")
    within_screen(page, "table.speeds td[data-label=Fit]")
    within_screen(page, "table.speeds td[data-label='Generation tokens/s']")
    within_screen(page, "table.kits td[data-label=Price]")
    expect(page.locator("table.speeds td[data-label=Fit]").first).to_be_visible()


def test_a_table_that_must_scroll_says_so_and_takes_the_keyboard(open_page, live_data):
    page = open_page(PHONE)
    page.goto(R1)
    wrap = page.locator(".table-wrap:has(table.ladder)")
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")  # it does scroll here
    expect(page.locator("#ladder ~ .scroll-hint")).to_be_visible()
    expect(wrap).to_have_attribute("tabindex", "0")
    within_screen(page, "table.ladder tbody th >> nth=0")  # the quant column stays put


def chart_label_sizes(page):
    return page.evaluate(
        """() => [...document.querySelectorAll('.chart svg text')]
             .filter(t => getComputedStyle(t).display !== 'none')
             .map(t => parseFloat(getComputedStyle(t).fontSize)
                       * t.ownerSVGElement.getScreenCTM().a)"""
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("model", ["deepseek-r1", "llama-4-scout-17b-16e-instruct"])
def test_chart_labels_render_at_11_px_or_more(open_page, live_data, viewport, model):
    page = open_page(viewport)
    page.goto(f"/models/{model}/")
    sizes = chart_label_sizes(page)
    assert sizes and min(sizes) >= 11, sizes


def test_every_page_has_its_icon_and_no_broken_request(open_page, live_catalog):
    page = open_page(DESKTOP)
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append((r.status, r.url)))
    for url in public_pages():
        page.goto(url)
        expect(page.locator("link[rel=icon][type='image/svg+xml']")).to_have_count(1)
    broken = [(s, u) for s, u in failed if not u.endswith("/models/deepseek-r1-0528/")]
    assert broken == []
    for icon, kind in (("/favicon.ico", "image/x-icon"), ("/favicon.svg", "image/svg+xml"),
                       ("/apple-touch-icon.png", "image/png")):  # fmt: skip
        response = page.request.get(icon)
        assert response.status == 200 and response.headers["content-type"] == kind


def test_kits_and_faq_are_in_the_main_nav_and_the_footer(open_page, live_data):
    page = open_page(PHONE)
    page.goto("/")
    for nav in ("nav[aria-label=Main]", "footer nav"):
        expect(page.locator(nav).get_by_role("link", name="Memory kits")).to_have_attribute(
            "href", "/kits/"
        )
        expect(page.locator(nav).get_by_role("link", name="FAQ")).to_have_attribute("href", "/faq/")
    page.locator("nav[aria-label=Main]").get_by_role("link", name="FAQ").click()
    expect(page.locator("nav[aria-label=Main] a[aria-current=page]")).to_have_text("FAQ")


def test_two_models_compared_fit_a_phone_and_more_say_they_scroll(open_page, live_data):
    page = open_page(PHONE)
    page.goto("/compare/?models=deepseek-r1,qwen3-32b")
    wrap = page.locator(".table-wrap.scrolls")
    assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth")
    within_screen(page, "table.compare td strong")  # RAM to buy and tokens/s of both
    expect(page.locator(".scroll-hint")).to_have_count(0)
    page.goto("/compare/?models=deepseek-r1,qwen3-32b,gpt-oss-120b,phi-4")
    expect(page.locator(".scroll-hint")).to_be_visible()
