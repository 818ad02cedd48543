"""axe-core (bundled by axe-playwright-python, never a CDN) on every public page at
desktop and phone widths, and on a page after an in-place update: no serious or
critical violation."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.pages import R1, public_pages

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

BLOCKING = {"serious", "critical"}


def blocking_violations(page) -> list[str]:
    results = Axe().run(page, options={"resultTypes": ["violations"]}).response
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
        for v in results["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366px", "390px"])
def test_no_public_page_has_a_serious_or_critical_axe_violation(open_page, live_catalog, viewport):
    page = open_page(viewport)
    found = {}
    for url in public_pages():
        page.goto(url)
        violations = blocking_violations(page)
        if violations:
            found[url] = violations
    assert found == {}


def test_a_model_page_after_an_update_has_no_serious_or_critical_axe_violation(
    open_page, live_data
):
    page = open_page(PHONE)
    page.goto(R1)
    page.click("#ladder-Q8_0")
    page.wait_for_url("**quant=Q8_0**")
    page.locator("#announcer").filter(has_text="Q8_0").wait_for()
    assert blocking_violations(page) == []
