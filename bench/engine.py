"""Engine micro-benchmark: the sizing engine alone, no Django, no database.

    python bench/engine.py [--repeat N]

Reads every reviewed model (calculator/data/models/*.json) and hardware profile
(calculator/data/hardware.json), parses each config once (the "cached
architecture", as the site keeps it per row version), then times:

* one full estimate (memory + speed plan on every hardware profile) for DeepSeek R1
  at Q4_K_M / 8K, the page's and the API's default work;
* the quant ladder: total memory for every quant preset of every model, cold (the
  first time each architecture's weights are sized) and warm.

Prints the best of N repeats (the figure least disturbed by the rest of the machine)
and the median against the aims (one estimate under 1 ms, the ladder for all models
under 50 ms warm). With ``--strict`` a missed aim exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from calculator.engine.architecture import parse_config  # noqa: E402
from calculator.engine.estimate import Options, estimate  # noqa: E402
from calculator.engine.fit import total_bytes  # noqa: E402
from calculator.engine.hardware import HardwareProfile  # noqa: E402
from calculator.engine.quant import PRESETS  # noqa: E402
from calculator.engine.types import Architecture  # noqa: E402

DATA = ROOT / "calculator" / "data"
AIM_ESTIMATE_MS = 1.0
AIM_LADDER_MS = 50.0


def load_models() -> dict[str, Architecture]:
    return {
        path.stem: parse_config(json.loads(path.read_text())["config"])
        for path in sorted((DATA / "models").glob("*.json"))
    }


def load_profiles() -> tuple[tuple[HardwareProfile, ...], HardwareProfile, float]:
    data = json.loads((DATA / "hardware.json").read_text())
    classes = data["efficiency"]
    profiles = tuple(
        HardwareProfile(
            slug=p["slug"],
            name=p["name"],
            kind=p["kind"],
            memory_gb=p["memory_gb"],
            bandwidth_gbps=p["bandwidth_gbps"],
            efficiency=classes[p["efficiency_class"]]["eta"],
            efficiency_low=classes[p["efficiency_class"]].get("low"),
            efficiency_high=classes[p["efficiency_class"]].get("high"),
            overhead_ms=classes[p["efficiency_class"]].get("overhead_ms", 0.0),
            gpu_memory_fraction=p.get("gpu_memory_fraction"),
        )
        for p in data["profiles"]
    )
    host = next(p for p in profiles if p.kind == "cpu")
    penalty = classes.get("moe_penalty", {}).get("eta", 1.0)
    return profiles, host, penalty


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds per call, ``repeat`` times."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--strict", action="store_true", help="exit 1 when an aim is missed")
    args = parser.parse_args()

    start = time.perf_counter()
    models = load_models()
    parse_ms = (time.perf_counter() - start) * 1000
    profiles, host, penalty = load_profiles()
    r1 = models["deepseek-r1"]
    options = Options(quant="Q4_K_M", context=8192)

    def one_estimate() -> object:
        return estimate(r1, options, profiles, host=host, moe_penalty=penalty)

    quants = list(PRESETS)

    def ladder_all() -> object:
        return [total_bytes(a, Options(quant=q)) for a in models.values() for q in quants]

    # Cold: the first sizing of each architecture's weights (fresh parse, empty caches).
    fresh = load_models()
    start = time.perf_counter()
    [total_bytes(a, Options(quant=q)) for a in fresh.values() for q in quants]
    ladder_cold_ms = (time.perf_counter() - start) * 1000

    one_estimate()  # warm
    est = timed(one_estimate, args.repeat)
    lad = timed(ladder_all, max(5, args.repeat // 20))

    n_calls = len(models) * len(quants)
    rows = [
        (f"parse {len(models)} config.json files (once per row version)", parse_ms, parse_ms, None),
        (
            f"one estimate: deepseek-r1 Q4_K_M 8K, {len(profiles)} hardware profiles",
            min(est),
            statistics.median(est),
            AIM_ESTIMATE_MS,
        ),
        (
            f"quant ladder, cold: {len(models)} models x {len(quants)} quants = {n_calls}",
            ladder_cold_ms,
            ladder_cold_ms,
            None,
        ),
        (
            f"quant ladder, warm: {len(models)} models x {len(quants)} quants = {n_calls}",
            min(lad),
            statistics.median(lad),
            AIM_LADDER_MS,
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'engine':<{width}}  {'best ms':>9}  {'median ms':>9}  aim")
    failed = False
    for label, best, median, aim in rows:
        verdict = ""
        if aim is not None:
            ok = median < aim
            failed |= not ok
            verdict = f"< {aim:g} ms {'ok' if ok else 'MISSED'}"
        print(f"{label:<{width}}  {best:>9.3f}  {median:>9.3f}  {verdict}")
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
