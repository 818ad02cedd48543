"""What a visitor waits for when they change a setting (part of ``make bench``).

    python bench/click_to_swap.py http://127.0.0.1:PORT [--clicks 12]

Debian's Chromium (driven by Playwright, never a downloaded browser) opens the R1 page
on the server ``bench/run.py`` started, at a context length no other bench target asks
for, and clicks quants in the quant ladder one after another. For each click it reads,
in the page, the time from the click event to htmx's ``afterSettle`` on the results
region (the answer swapped in, focus and scroll restored), and the request's own time
from the browser's Resource Timing entry (network and server). Each quant is clicked
twice: COLD, a state nobody asked for before (the server renders it), then HOT, the same
state again (a response-cache hit; the browser's own cache is off).

Prints the median and the slowest of each. Reported, not enforced; skipped with a note
when Playwright or Chromium is missing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys

PAGE = "/models/deepseek-r1/?context=9999"  # no other bench target asks this context
QUANTS = ("Q8_0", "Q6_K", "Q5_K_M", "Q3_K_M", "Q2_K", "IQ4_XS", "Q5_K_S", "Q3_K_L", "IQ3_M",
          "Q4_K_S", "IQ2_M", "IQ1_S")  # fmt: skip

# Runs in the page (the site's CSP allows no eval: listeners, not wait_for_function).
LISTEN = """() => {
  window.__swaps = [];
  document.addEventListener('click', () => { window.__clicked = performance.now(); }, true);
  document.addEventListener('htmx:afterSettle', (event) => {
    if (!event.detail.target || event.detail.target.id !== 'result') return;
    const requests = performance.getEntriesByType('resource')
      .filter((entry) => entry.initiatorType === 'xmlhttprequest');
    const last = requests[requests.length - 1];
    window.__swaps.push([performance.now() - window.__clicked, last ? last.duration : null]);
  });
}"""


def measure(base: str, clicks: int) -> dict[str, list[tuple[float, float]]]:
    from playwright.sync_api import sync_playwright

    quants = QUANTS[:clicks]
    found: dict[str, list[tuple[float, float]]] = {"cold": [], "hot": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--headless", "--no-sandbox"]
        )
        page = browser.new_context(
            base_url=base, viewport={"width": 1366, "height": 900}
        ).new_page()
        devtools = page.context.new_cdp_session(page)
        devtools.send("Network.enable")
        devtools.send("Network.setCacheDisabled", {"cacheDisabled": True})  # hot: the server's
        page.goto(PAGE)
        page.evaluate(LISTEN)
        for kind in ("cold", "hot"):
            for quant in quants:
                link = page.locator(f"#ladder-{quant}")
                before = page.evaluate("window.__swaps.length")
                link.scroll_into_view_if_needed()
                link.click()
                for _ in range(500):
                    if page.evaluate("window.__swaps.length") > before:
                        break
                    page.wait_for_timeout(5)
                else:
                    raise RuntimeError(f"no swap after clicking {quant}")
                swap, request = page.evaluate("window.__swaps[window.__swaps.length - 1]")
                found[kind].append((swap, request or 0.0))
        browser.close()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", help="the server's base URL")
    parser.add_argument("--clicks", type=int, default=len(QUANTS))
    args = parser.parse_args()
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("click to swap: skipped (Playwright is not installed)")
        return 0
    if shutil.which("chromium") is None:
        print("click to swap: skipped (no chromium: apt-get install chromium)")
        return 0
    found = measure(args.base, args.clicks)
    print(f"click to swap in Chromium, R1 quant ladder ({args.clicks} quants, each twice)")
    print(f"{'':6}  {'click to settled ms':>22}  {'request ms':>16}")
    print(f"{'':6}  {'median':>10}  {'max':>10}  {'median':>7}  {'max':>7}")
    for kind, rows in found.items():
        swaps, requests = [r[0] for r in rows], [r[1] for r in rows]
        print(
            f"{kind:6}  {statistics.median(swaps):>10.0f}  {max(swaps):>10.0f}  "
            f"{statistics.median(requests):>7.0f}  {max(requests):>7.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
