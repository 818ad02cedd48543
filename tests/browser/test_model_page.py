"""The DeepSeek R1 calculator page in a real browser: in-place updates, history, no-JS."""

import pytest
from playwright.sync_api import expect

from calculator import services
from calculator.engine.estimate import Options
from calculator.engine.verdict import build_verdict

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

R1 = "/models/deepseek-r1/"
RAM = "[data-testid=ram]"
VERDICT = "[data-testid=verdict]"


def engine_figures(quant, context):
    model = services.find_model("deepseek-r1")
    on_builds = services.estimate_on_builds(
        services.architecture_of(model), Options(quant=quant, context=context),
        services.hardware_set(),
    )  # fmt: skip
    est = on_builds.estimate
    ram = f"{est.recommended_ram_gb} GB RAM" if est.recommended_ram_gb else "More than 2 TB"
    return ram, build_verdict(on_builds.placements, est.recommended_ram_gb).headline


def test_changing_quant_and_context_swaps_results_and_url_without_reload(page):
    page.goto(R1)
    page.evaluate("window.__noReload = 'still here'")
    page.select_option("#id_quant", "Q8_0")
    page.wait_for_url("**quant=Q8_0**")
    page.fill("#id_context", "32768")
    page.press("#id_context", "Enter")
    page.wait_for_url("**context=32768**")
    ram, headline = engine_figures("Q8_0", 32768)
    expect(page.locator(RAM)).to_have_text(ram)
    expect(page.locator(VERDICT)).to_have_text(headline)
    assert "quant=Q8_0" in page.url
    assert page.evaluate("window.__noReload") == "still here"


def test_back_button_restores_the_previous_numbers(page):
    page.goto(R1)
    before = page.locator(RAM).inner_text()
    page.select_option("#id_quant", "IQ1_S")
    page.wait_for_url("**quant=IQ1_S**")
    expect(page.locator(RAM)).not_to_have_text(before)
    page.go_back()
    expect(page.locator(RAM)).to_have_text(before)
    assert "quant=" not in page.url
    expect(page.locator("#id_quant")).to_have_value("Q4_K_M")


def test_without_javascript_the_form_submits_and_renders_the_same_numbers(nojs_page):
    page = nojs_page
    page.goto(R1)
    page.select_option("#id_quant", "Q8_0")
    page.fill("#id_context", "32768")
    with page.expect_navigation():
        page.click("button[type=submit]:has-text('Calculate')")
    assert "quant=Q8_0" in page.url and "context=32768" in page.url
    ram, headline = engine_figures("Q8_0", 32768)
    expect(page.locator(RAM)).to_have_text(ram)
    expect(page.locator(VERDICT)).to_have_text(headline)


def test_context_preset_link_updates_the_form_and_the_results(page):
    page.goto(R1)
    page.evaluate("window.__noReload = 1")
    page.click(".presets a:has-text('32K')")
    page.wait_for_url("**context=32768**")
    expect(page.locator("#id_context")).to_have_value("32768")
    assert page.evaluate("window.__noReload") == 1


def test_home_search_shows_live_results(page):
    page.goto("/")
    page.fill("#home-q", "deepseek r1")
    expect(page.locator("#search-results a", has_text="DeepSeek R1").first).to_be_visible()


def test_model_page_screenshot_is_saved(page, output_dir):
    page.goto(R1 + "?quant=Q8_0&context=32768")
    path = output_dir / "model-page-deepseek-r1.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(output_dir / "model-page-deepseek-r1-phone.png"), full_page=False)
    assert path.stat().st_size > 10_000


def test_after_an_update_the_files_and_kit_picks_load_when_scrolled_to(page, live_catalog):
    """An htmx update leaves the files table and the kit picks out of the response; each
    loads, for the new state, once it scrolls into view."""
    page.goto(R1)
    page.select_option("#id_quant", "Q8_0")
    page.wait_for_url("**quant=Q8_0**")
    page.locator("#kit-picks").scroll_into_view_if_needed()
    expect(page.locator("#kit-picks h2#kits")).to_contain_text("kits for 768 GB")
    expect(page.locator("#kit-picks table.kits").first).to_be_visible()
    page.locator("#gguf-files").scroll_into_view_if_needed()
    expect(page.locator("#gguf-files.lazy")).to_have_count(0)  # loaded (no files listed here)
    expect(page.locator("#gguf-files")).to_have_count(1)


def test_a_ladder_quant_keeps_the_picked_build_and_sets_the_form(page):
    """The form is not resent with each answer: a quant clicked in the ladder goes
    through it, so the machine picked in the form is still answered for, and the quant
    menu shows the new quant."""
    page.goto(R1 + "?build=rtx-4090-epyc-9004-384gb")
    expect(page.locator("[data-testid=your-build]")).to_contain_text("RTX 4090 + EPYC 9004")
    page.click("#ladder-Q2_K")
    page.wait_for_url("**quant=Q2_K**")
    assert "build=rtx-4090-epyc-9004-384gb" in page.url
    expect(page.locator("#id_quant")).to_have_value("Q2_K")
    expect(page.locator("[data-testid=your-build]")).to_contain_text("RTX 4090 + EPYC 9004")
    expect(page.locator("tr:has(#ladder-Q2_K)")).to_have_attribute("aria-current", "true")
    page.click(".presets a:has-text('32K')")
    page.wait_for_url("**context=32768**")
    assert "quant=Q2_K" in page.url and "build=rtx-4090-epyc-9004-384gb" in page.url
    expect(page.locator(".presets a[aria-current]")).to_have_text("32K")


def test_an_update_shows_the_fastest_builds_and_the_rest_on_request(page):
    page.goto(R1)
    rows = page.locator("[data-testid=speed-table] tbody tr")
    every = rows.count()
    cannot = page.locator("[data-testid=cannot-run] li").count()
    page.select_option("#id_quant", "Q8_0")
    page.wait_for_url("**quant=Q8_0**")
    expect(page.locator("#builds-more")).to_be_visible()
    assert rows.count() <= 4
    page.click("#builds-more")
    expect(page.locator("#builds-more")).to_have_count(0)
    expect(page.locator("[data-testid=cannot-run]")).to_have_count(1)
    full = page.locator("[data-testid=speed-table] tbody tr").count()
    assert full + page.locator("[data-testid=cannot-run] li").count() == every + cannot


def test_every_build_stays_shown_once_asked_for(page):
    page.goto(R1)
    page.select_option("#id_quant", "Q8_0")
    page.wait_for_url("**quant=Q8_0**")
    page.click("#builds-more")
    expect(page.locator("#builds-more")).to_have_count(0)
    page.select_option("#id_quant", "Q6_K")
    page.wait_for_url("**quant=Q6_K**")
    expect(page.locator("[data-testid=cannot-run]")).to_have_count(1)  # loaded again
    expect(page.locator("#builds-more")).to_have_count(0)
