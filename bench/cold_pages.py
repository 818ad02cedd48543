"""Each public page's server time when nothing is cached (part of ``make bench``).

    python bench/cold_pages.py [--repeat 5]

Runs in the environment ``bench/run.py`` builds (its database and production settings),
with its own local-memory response cache. The process is prepared as a web worker is
(``front.warmup.prepare_process``: the catalog loaded, the templates compiled, the heap
frozen) and every page is requested once first, as in a running server; then, for each
measured request, the whole-response cache is emptied and the engine's memos are
cleared (every ``lru_cache`` in ``calculator.engine``), so the page is rendered and
every figure on it computed from scratch: COLD. Model pages get a context length
nobody asked for in each request as well. The time is the Django handler's, through
the whole middleware stack (the test client, no network).

Then the same page with only the response cache emptied (the engine's memos as the
previous requests left them: what a response-cache miss costs in a server that has
computed these figures before, e.g. after its cache entry expired).

Prints, per page, the slowest and the median of ``--repeat`` cold requests, the median
of the response-cache misses and the body size, against the aim: no public page over
``AIM_MS`` cold. Reported, not enforced.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["CACHE_URL"] = "locmemcache://"  # our own cache: clearing it touches nobody's keys
os.environ["ALLOWED_HOSTS"] = os.environ.get("ALLOWED_HOSTS", "") + ",testserver"  # the client's
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.test import Client  # noqa: E402

from catalog.models import MemoryKit  # noqa: E402
from front.warmup import prepare_process  # noqa: E402

AIM_MS = 150.0
R1 = "/models/deepseek-r1/"
HTMX = {"HX-Request": "true", "HX-Target": "result"}


def pages() -> list[tuple[str, str, dict[str, str]]]:
    """(label, path, headers); ``{context}`` in a path is a new context per request."""
    kit = MemoryKit.objects.active().order_by("capacity_gb").first()
    return [
        ("home", "/", {}),
        ("model list", "/models/", {}),
        ("model search", "/models/?q=deepsek", {}),
        ("model page (R1)", R1 + "?quant=Q4_K_M&context={context}", {}),
        ("results partial (R1, htmx)", R1 + "?quant=Q4_K_M&context={context}", HTMX),
        ("model page (gpt-oss-120b)", "/models/gpt-oss-120b/?context={context}", {}),
        ("model FAQ", R1 + "faq/", {}),
        ("hardware list", "/hardware/", {}),
        ("what runs in 64 GB", "/hardware/?memory_gb=64", {}),
        ("hardware page (RTX 4090)", "/hardware/rtx-4090/", {}),
        ("builds", "/builds/", {}),
        ("compare (empty)", "/compare/", {}),
        ("compare 3 models", "/compare/?models=deepseek-r1,qwen3-32b,gpt-oss-120b", {}),
        ("methodology", "/methodology/", {}),
        ("kits", "/kits/", {}),
        ("kit page", kit.get_absolute_url() if kit else "/kits/", {}),
        ("FAQ", "/faq/", {}),
        ("404 with suggestions", "/models/deepseek-r1-0528/", {}),
    ]


def clear_engine_memos() -> None:
    for name, module in list(sys.modules.items()):
        if name.startswith("calculator.engine") and module is not None:
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    prepare_process()  # as config/wsgi.py does in each web worker
    client = Client()
    contexts = iter(range(7_001, 200_000, 997))
    rows = []
    for label, path, headers in pages():
        client.get(path.format(context=6_000), headers=headers)  # compile, parse, connect
        times, size = [], 0
        for _ in range(args.repeat):
            cache.clear()
            clear_engine_memos()
            url = path.format(context=next(contexts))
            start = time.perf_counter()
            response = client.get(url, headers=headers)
            times.append((time.perf_counter() - start) * 1000)
            if response.status_code not in (200, 404):
                print(f"{label}: {url} answered {response.status_code}", file=sys.stderr)
                return 1
            size = len(response.content)
        misses = []
        for _ in range(args.repeat):
            cache.clear()
            start = time.perf_counter()
            client.get(path.format(context=6_000), headers=headers)
            misses.append((time.perf_counter() - start) * 1000)
        rows.append((label, max(times), statistics.median(times), statistics.median(misses), size))

    width = max(len(r[0]) for r in rows)
    print(f"cold server time per public page ({args.repeat} requests each, nothing cached)")
    print(f"{'':<{width}}  {'cold':>7}  {'cold':>7}  {'miss':>7}")
    print(f"{'page':<{width}}  {'max ms':>7}  {'med ms':>7}  {'med ms':>7}  {'KB':>6}  aim")
    for label, worst, median, miss, size in rows:
        note = f"<= {AIM_MS:.0f} ms {'ok' if worst <= AIM_MS else 'over'}"
        print(
            f"{label:<{width}}  {worst:>7.1f}  {median:>7.1f}  {miss:>7.1f}  {size / 1000:>6.1f}"
            f"  {note}"
        )
    over = [r[0] for r in rows if r[1] > AIM_MS]
    print(f"pages over {AIM_MS:.0f} ms cold: {', '.join(over) if over else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
