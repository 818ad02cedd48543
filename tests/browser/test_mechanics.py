"""A visitor's mechanics in Chromium: in-place updates keep the reader and the keyboard
where they were, say what changed, and name the state in the tab title."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

R1 = "/models/deepseek-r1/"
ANNOUNCER = "#announcer"


def top(page, selector):
    return page.locator(selector).bounding_box()["y"]


def active_id(page):
    return page.evaluate("document.activeElement && document.activeElement.id")


def announced(page, text):
    expect(page.locator(ANNOUNCER)).to_contain_text(text)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_quant_ladder_keeps_the_reader_where_they_are(open_page, live_data, viewport):
    page = open_page(viewport)
    page.goto(R1)
    for quant in ("Q8_0", "Q6_K", "IQ1_S", "Q2_K", "Q4_K_M"):  # five tries, the last the default
        link = f"#ladder-{quant}"
        page.locator(link).scroll_into_view_if_needed()
        before = top(page, link)
        page.click(link)
        announced(page, f"{quant} at 8K context")
        # The reader stays where they were: the clicked quant keeps its place on screen
        # (the page scrolls by however much the speed table above it grew or shrank).
        assert abs(top(page, link) - before) <= 2, (quant, before, top(page, link))
        assert active_id(page) == f"ladder-{quant}"  # keyboard focus in the updated result
        expect(page.locator(f"tr:has({link})")).to_have_attribute("aria-current", "true")


def test_every_calculator_control_keeps_its_place(open_page, live_data):
    page = open_page(DESKTOP)
    page.goto(R1)

    def type_context():
        page.fill("#id_context", "64k")
        page.press("#id_context", "Enter")

    steps = [
        ("#context-32768", lambda: page.click("#context-32768"), "32K context"),
        ("#id_quant", lambda: page.select_option("#id_quant", "Q8_0"), "Q8_0 at 32K"),
        ("#id_kv_type", lambda: page.select_option("#id_kv_type", "q8_0"), "Q8_0 at 32K"),
        ("#id_context", type_context, "64K context"),
    ]
    for selector, act, says in steps:
        page.locator(selector).scroll_into_view_if_needed()
        before = top(page, selector)
        page.evaluate("document.getElementById('announcer').textContent = ''")
        act()
        announced(page, says)
        assert abs(top(page, selector) - before) <= 2, selector
    assert active_id(page) == "id_context"  # typing then Enter: focus stays in the field


def test_the_address_bar_shows_the_short_url_of_each_state(open_page, live_data):
    page = open_page(DESKTOP)
    page.goto(R1)
    page.select_option("#id_quant", "Q8_0")
    announced(page, "Q8_0 at 8K context")
    assert page.url.endswith("/models/deepseek-r1/?quant=Q8_0")  # not every form field
    page.click("#context-32768")
    announced(page, "Q8_0 at 32K context")
    assert page.url.endswith("/models/deepseek-r1/?quant=Q8_0&context=32768")
    page.select_option("#id_quant", "Q4_K_M")  # the model's default: not written
    announced(page, "Q4_K_M at 32K context")
    assert page.url.endswith("/models/deepseek-r1/?context=32768")


def test_back_and_forward_return_the_reader_to_where_they_were(open_page, live_data):
    """The page comes back from the server (no snapshot in the browser), taller than the
    update that left it (every build, the kit picks and files): the clicked quant is
    where it was all the same."""
    page = open_page(DESKTOP)
    page.goto(R1)
    page.locator("#ladder-Q8_0").scroll_into_view_if_needed()
    places = {}
    for quant in ("Q8_0", "Q6_K"):
        page.click(f"#ladder-{quant}")
        announced(page, f"{quant} at 8K context")
        places[quant] = top(page, f"#ladder-{quant}")
    for move, quant in ((page.go_back, "Q8_0"), (page.go_forward, "Q6_K")):
        move()
        expect(page.locator(f"tr:has(#ladder-{quant})")).to_have_attribute("aria-current", "true")
        page.wait_for_timeout(100)  # the restore's own scrolling, if any, is over
        assert abs(top(page, f"#ladder-{quant}") - places[quant]) <= 2, (quant, places)


def test_focus_lands_on_the_updated_result_when_the_control_is_gone(open_page, live_data):
    page = open_page(DESKTOP)
    page.goto("/compare/?models=deepsek,qwen3-32b")
    page.click("[data-testid=did-you-mean] a >> nth=0")
    announced(page, "Comparing Qwen3 32B, DeepSeek R1")
    assert active_id(page) == "result"  # not <body>


def test_the_update_is_announced_in_one_polite_live_region(open_page, live_data):
    page = open_page(DESKTOP)
    page.goto(R1)
    announcer = page.locator(ANNOUNCER)
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_have_attribute("role", "status")
    page.select_option("#id_quant", "Q8_0")
    announced(page, "Q8_0 at 8K context")
    expected = page.locator("#result").get_attribute("data-announce")
    assert "GB of RAM to buy" in expected
    expect(announcer).to_have_text(expected)
    assert page.locator("[aria-live]").count() == 1  # the swapped regions are not live


def test_the_title_follows_the_state_on_swaps_and_history(open_page, live_data):
    page = open_page(DESKTOP)
    page.goto(R1)
    default = page.title()
    assert "Q4_K_M" in default
    page.select_option("#id_quant", "Q8_0")
    expect(page).to_have_title(re.compile(r"^DeepSeek R1 at Q8_0, 8K context"))
    page.click("#context-32768")
    expect(page).to_have_title(re.compile(r"^DeepSeek R1 at Q8_0, 32K context"))
    page.go_back()
    expect(page).to_have_title(re.compile(r"^DeepSeek R1 at Q8_0, 8K context"))
    expect(page.locator("#id_quant")).to_have_value("Q8_0")
    page.go_back()
    expect(page).to_have_title(default)
    page.go_forward()
    expect(page).to_have_title(re.compile(r"^DeepSeek R1 at Q8_0, 8K context"))


def test_live_search_keeps_focus_in_the_box_and_says_how_many_match(open_page, live_data):
    page = open_page(DESKTOP)
    page.goto("/")
    page.fill("#home-q", "deepsek")
    expect(page.locator("#search-results a").first).to_have_text("DeepSeek R1")
    announced(page, "match “deepsek”")
    assert active_id(page) == "home-q"
    assert page.locator("#search-results").count() == 1  # replaced, never nested


def test_hardware_presets_move_their_current_mark_and_keep_their_place(open_page, live_data):
    page = open_page(PHONE)
    page.goto("/hardware/rtx-4090/")
    before = top(page, "#context-32768")
    page.click("#context-32768")
    announced(page, "At 32K context")
    expect(page.locator("#context-32768")).to_have_attribute("aria-current", "true")
    expect(page.locator("#context-8192")).not_to_have_attribute("aria-current", "true")
    assert abs(top(page, "#context-32768") - before) <= 2
    expect(page).to_have_title(re.compile("RTX 4090 at 32K context"))
