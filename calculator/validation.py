"""Predicted versus published: the reference set the tests and the methodology page share.

Each CSV in ``calculator/data/reference/`` carries one published measurement per
row with its source. This module predicts each row with the engine and reports
the relative error; the test suite asserts the bounds, the methodology page
shows the same table.

Speed rows carry a fixed split in their ``use`` column: ``fit`` rows are the ones
``manage.py calibrate_speed`` fits coefficients to (reported as "fitted"), ``check`` rows
never enter a fit (reported as "held out"); the accuracy bounds are asserted on held-out
rows only. The split, per file:

* ``decode_speeds.csv`` (one device): within each hardware class, rows alternate
  fit / check in file order.
* ``build_speeds.csv``: multi-GPU rows alternate fit / check per GPU model (they fit the
  per-extra-GPU overhead); offload decode and two-socket rows fit nothing, so all are held
  out. Prompt rows on GPU + system RAM (``offload_prefill``, reported in the ``prefill``
  group): the first steady-state step of each run fits the PCIe copy efficiency, deeper
  steps are held out. ik_llama.cpp GPU + system RAM rows (``offload_ik``, a separately
  calibrated engine): the shortest context of each run fits the engine's CPU expert rate,
  deeper steps are held out.
* ``prefill_speeds.csv``: per device, one llama-bench pp512 row of a dense model
  (llama-2-7b Q4_0 where the scoreboards have it, else llama-3.1-8b Q4_K_M) fits the prompt
  efficiency. MoE rows: per device and backend, the shortest empty-cache prompt of the
  smallest MoE model measured there (gpt-oss-20b), at its table's first micro-batch size,
  fits the backend's routing time; every other model, quant, prompt length, depth and
  micro-batch size is held out. ``ubatch`` is the run's ``-ub`` (llama-bench's 512 when
  the command does not set it).
"""

from __future__ import annotations

import csv
import json
import re
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from calculator.engine.build import (
    Build,
    Efficiency,
    GpuGroup,
    Host,
    Inventory,
    Tuning,
    make_build,
    platform_host,
    profile_host,
)
from calculator.engine.estimate import Options, footprint
from calculator.engine.hardware import HardwareProfile, custom_profile
from calculator.engine.kv_cache import DEFAULT_UBATCH, kv_cache
from calculator.engine.placement import place, prompt_seconds_on
from calculator.engine.platform import Dimms, platforms_from_data
from calculator.engine.prefill import MoeWeights, prompt_seconds
from calculator.engine.quant import weights_bytes
from calculator.engine.speed import LLAMA_CPP, Engine, Footprint, engines_from_data, plan
from calculator.engine.types import Architecture

DATA_DIR = Path(__file__).resolve().parent / "data"
REFERENCE_DIR = DATA_DIR / "reference"
EXCLUDED_MARK = "EXCLUDED:"
USE_LABELS = {"fit": "fitted", "check": "held out"}


@dataclass(frozen=True, slots=True)
class Row:
    kind: str  # "file_size", "params", "kv_cache", "decode_speed", "prefill_speed"
    model_slug: str
    label: str
    published: float
    predicted: float | None  # None: the model or hardware is not in the catalog
    source: str
    note: str = ""
    use: str = ""  # "fitted" / "held out" (speed rows); "" for sizes
    group: str = ""  # speed rows: single / multi_gpu / offload / sockets / prefill

    @property
    def error(self) -> float | None:
        if self.predicted is None or not self.published:
            return None
        return (self.predicted - self.published) / self.published

    @property
    def held_out(self) -> bool:
        return self.use == USE_LABELS["check"]


@dataclass(frozen=True, slots=True)
class Summary:
    kind: str
    rows: int
    median_abs_error: float
    p90_abs_error: float
    max_abs_error: float


def read_reference(name: str) -> list[dict[str, str]]:
    with (REFERENCE_DIR / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def included(record: dict[str, str]) -> bool:
    return not record.get("notes", "").startswith(EXCLUDED_MARK)


def file_size_rows(archs: Mapping[str, Architecture]) -> list[Row]:
    rows = []
    for r in filter(included, read_reference("gguf_file_sizes.csv")):
        arch = archs.get(r["model_slug"])
        predicted = weights_bytes(arch, r["quant"]).total_bytes if arch else None
        rows.append(
            Row("file_size", r["model_slug"], r["quant"], float(r["file_bytes"]), predicted,
                r["source"], f"{r['publisher_repo']} {r['size_as_published']}")
        )  # fmt: skip
    return rows


def param_rows(archs: Mapping[str, Architecture]) -> list[Row]:
    rows = []
    for r in filter(included, read_reference("param_counts.csv")):
        arch = archs.get(r["model_slug"])
        rows.append(
            Row("params", r["model_slug"], "total", float(r["total_params"]),
                arch.total_params if arch else None, r["source"])
        )  # fmt: skip
        if r["active_params"]:
            rows.append(
                Row("active_params", r["model_slug"], "active", float(r["active_params"]),
                    arch.active_params if arch else None, r["source"])
            )  # fmt: skip
    return rows


def kv_rows(archs: Mapping[str, Architecture]) -> list[Row]:
    rows = []
    for r in filter(included, read_reference("kv_cache_sizes.csv")):
        arch = archs.get(r["model_slug"])
        context, n_seq = int(r["context"]), int(r["n_seq"] or 1)
        predicted = (
            kv_cache(arch, context // n_seq, r["kv_type"], n_seq).total_bytes if arch else None
        )
        rows.append(
            Row("kv_cache", r["model_slug"], f"{context:,} cells {r['kv_type']}",
                float(r["kv_bytes"]), predicted, r["source"])
        )  # fmt: skip
    return rows


def measured_footprint(arch: Architecture, record: Mapping[str, str]) -> Footprint:
    """What the measured run read per token: its quant (and KV type), at the middle of a
    tg128 run from the recorded depth."""
    context = int(record["context"] or 0) + 64
    kv_type = record.get("kv_type") or "f16"
    return footprint(arch, Options(quant=record["quant"], context=context, kv_type=kv_type))[2]


def _use(record: Mapping[str, str]) -> str:
    return USE_LABELS.get(record.get("use", ""), "")


def speed_rows(
    archs: Mapping[str, Architecture],
    profiles: Mapping[str, HardwareProfile],
    *,
    moe_penalty: float,
) -> list[Row]:
    """One-device decode rows (``decode_speeds.csv``)."""
    rows = []
    for r in filter(included, read_reference("decode_speeds.csv")):
        arch, hw = archs.get(r["model_slug"]), profiles.get(r["hardware"])
        predicted = None
        if arch and hw:
            speed = plan(hw, measured_footprint(arch, r), host=hw, moe_penalty=moe_penalty)
            predicted = speed.tokens_per_s
        rows.append(
            Row("decode_speed", r["model_slug"], f"{r['quant']} on {r['hardware']}",
                float(r["tokens_per_s"]), predicted, r["source"], r.get("notes", ""),
                _use(r), "single")
        )  # fmt: skip
    return rows


# --- builds: several GPUs, GPU + system RAM, sockets ----------------------------------


def reference_inventory(profiles: Mapping[str, HardwareProfile]) -> Inventory:
    """The build inventory the reference rows name: ``profiles`` plus the reviewed
    platforms, with the efficiency classes of ``hardware.json``."""
    data = json.loads((DATA_DIR / "hardware.json").read_text())
    prefill = {k: v["eta"] for k, v in data.get("prefill", {}).items()}
    routing = prefill_moe_us(data)
    efficiency = {
        key: Efficiency(v["eta"], v.get("low", v["eta"]), v.get("high", v["eta"]),
                        v.get("overhead_ms", 0.0), prefill.get(key),
                        routing.get(v.get("backend", ""), 0.0))
        for key, v in data["efficiency"].items()
    }  # fmt: skip
    platforms = platforms_from_data(json.loads((DATA_DIR / "platforms.json").read_text()))
    multi = data["efficiency"].get("multi_gpu", {}).get("overhead_ms", 0.0)
    penalty = data["efficiency"].get("moe_penalty", {}).get("eta", 1.0)
    link = data["efficiency"].get("pcie", {}).get("eta", 1.0)
    options = {
        p["slug"]: tuple(p["memory_options_gb"])
        for p in data["profiles"]
        if p.get("memory_options_gb")
    }
    return Inventory(profiles, platforms, efficiency, options, Tuning(penalty, multi, link))


_HOST_DIMMS = re.compile(r"^(\d+)x(\d+)@(\d+)$")


def reference_host(spec: str, inv: Inventory) -> Host:
    """``platform:<slug>:<count>x<size>@<MT/s>``, ``profile:<slug>``, or empty (a host
    that never limits: rows whose model stays in VRAM and whose host is not stated)."""
    if not spec:
        return Host(custom_profile(memory_gb=4096, bandwidth_gbps=100, kind="cpu", efficiency=1))
    kind, slug, *rest = spec.split(":")
    if kind == "profile":
        return profile_host(inv.profiles[slug])
    match = _HOST_DIMMS.match(rest[0])
    if match is None:
        raise ValueError(f"bad host spec {spec!r}")
    count, size, mt_s = (int(g) for g in match.groups())
    dimms = Dimms(count=count, size_gb=size, mt_s=mt_s)
    return platform_host(inv.platforms[slug], inv.efficiency["cpu_ddr"], dimms=dimms)


def reference_build(record: Mapping[str, str], inv: Inventory) -> Build | None:
    gpus = []
    for part in filter(None, record["gpus"].split("+")):
        slug, _, count = part.partition("*")
        if slug not in inv.profiles:
            return None
        gpus.append(GpuGroup(inv.profiles[slug], int(count or 1)))
    return make_build(reference_host(record["host"], inv), gpus)


_PROMPT_TEST = re.compile(r"^pp(\d+)")


def prompt_tokens(record: Mapping[str, str]) -> int | None:
    """A build row's prompt length (``pp512 (sweep-bench)`` -> 512), None for decode."""
    match = _PROMPT_TEST.match(record.get("test", ""))
    return int(match.group(1)) if match else None


def build_prompt_tps(
    arch: Architecture, record: Mapping[str, str], build: Build, tuning: Tuning
) -> float | None:
    """Prompt tokens/s of a build row: ``pp<tokens>`` after ``context`` cached tokens in
    micro-batches of the row's ``ubatch`` (llama-bench's 512 when not stated)."""
    tokens = prompt_tokens(record) or 0
    depth = int(record["context"] or 0)
    fp = footprint(arch, Options(quant=record["quant"], context=depth + tokens,
                                 kv_type=record["kv_type"]))[2]  # fmt: skip
    options = Options(quant=record["quant"], context=fp.context, kv_type=record["kv_type"])
    plan_ = place(build, fp, options, tuning)
    ubatch = int(record.get("ubatch") or DEFAULT_UBATCH)
    spent = prompt_seconds_on(plan_, tokens, start=depth, ubatch=ubatch)
    return tokens / spent if spent else None


def reference_engines() -> dict[str, Engine]:
    """llama.cpp and the separately calibrated engines of ``hardware.json``."""
    return engines_from_data(json.loads((DATA_DIR / "hardware.json").read_text()))


def row_engine(record: Mapping[str, str]) -> str:
    """The engine a row ran: ``ik_llama.cpp`` when its backend says so, else llama.cpp."""
    backend = record.get("backend", "")
    return "ik_llama.cpp" if backend.startswith("ik_llama.cpp") else LLAMA_CPP.key


def build_decode_tps(
    arch: Architecture, record: Mapping[str, str], build: Build, tuning: Tuning
) -> float | None:
    """Decode tokens/s of a build row, at the middle of its tg run."""
    fp = measured_footprint(arch, record)
    options = Options(quant=record["quant"], context=fp.context, kv_type=record["kv_type"])
    return place(build, fp, options, tuning).tokens_per_s


def build_speed_rows(archs: Mapping[str, Architecture], inv: Inventory) -> list[Row]:
    """Rows on builds (``build_speeds.csv``): decode on several GPUs, GPU + system RAM and
    sockets; prompts on GPU + system RAM (reported in the ``prefill`` group). Rows another
    engine ran (``offload_ik``) are predicted with that engine's calibration."""
    engines = reference_engines()
    rows = []
    for r in filter(included, read_reference("build_speeds.csv")):
        arch = archs.get(r["model_slug"])
        build = reference_build(r, inv)
        prompt = prompt_tokens(r) is not None
        tuning = engines[row_engine(r)].tuning(inv.tuning)
        predicted = None
        if arch and build and prompt:
            predicted = build_prompt_tps(arch, r, build, tuning)
        elif arch and build:
            predicted = build_decode_tps(arch, r, build, tuning)
        where = " + ".join(filter(None, (r["gpus"], r["host"]))) or "?"
        kind, group = ("prefill_speed", "prefill") if prompt else ("decode_speed", r["group"])
        rows.append(
            Row(kind, r["model_slug"], f"{r['quant']} {r['test'] + ' ' if prompt else ''}on "
                f"{where}", float(r["tokens_per_s"]), predicted, r["source"],
                r.get("notes", ""), _use(r), group)
        )  # fmt: skip
    return rows


def prefill_footprint(arch: Architecture, record: Mapping[str, str]) -> Footprint:
    """The measured prompt: ``tokens`` after ``depth`` tokens already in the cache."""
    context = int(record["depth"] or 0) + int(record["tokens"])
    return footprint(arch, Options(quant=record["quant"], context=context))[2]


# llama.cpp backend a prefill row names -> the key of its routing figure (``prefill_moe``)
PREFILL_BACKENDS = (("CUDA", "cuda"), ("ROCm", "rocm"), ("HIP", "rocm"), ("Vulkan", "vulkan"),
                    ("Metal", "metal"), ("CPU", "cpu"))  # fmt: skip


def prefill_backend(record: Mapping[str, str]) -> str:
    """``cuda`` / ``rocm`` / ``vulkan`` / ``metal`` / ``cpu`` from a row's ``backend``."""
    text = record.get("backend", "")
    return next((key for word, key in PREFILL_BACKENDS if word in text), "")


def prefill_moe_us(data: Mapping[str, object] | None = None) -> dict[str, float]:
    """Routing time per prompt token and MoE layer, per backend (``hardware.json``)."""
    if data is None:
        data = json.loads((DATA_DIR / "hardware.json").read_text())
    section: Mapping[str, Mapping[str, float]] = data.get("prefill_moe", {})  # type: ignore[assignment]
    return {key: float(v["us_per_token_layer"]) for key, v in section.items()}


def predicted_prefill(
    arch: Architecture,
    hw: HardwareProfile,
    record: Mapping[str, str],
    routing_us: Mapping[str, float] | None = None,
) -> float | None:
    """Prompt tokens/s for a llama-bench ``pp<tokens>`` run at ``depth``, with the row's
    micro-batch and (MoE) its backend's routing time."""
    fp = prefill_footprint(arch, record)
    if fp.prefill is None:
        return None
    tokens, depth = int(record["tokens"]), int(record["depth"] or 0)
    moe = MoeWeights(fp.n_moe_layers, fp.expert_bytes) if fp.is_moe else None
    us = (routing_us or {}).get(prefill_backend(record))
    ubatch = int(record.get("ubatch") or DEFAULT_UBATCH)
    spent = prompt_seconds(fp.prefill, tokens, hw, start=depth, moe=moe, ubatch=ubatch,
                           routing_us=us)  # fmt: skip
    return tokens / spent if spent else None


def prefill_rows(
    archs: Mapping[str, Architecture], profiles: Mapping[str, HardwareProfile]
) -> list[Row]:
    routing = prefill_moe_us()
    rows = []
    for r in filter(included, read_reference("prefill_speeds.csv")):
        arch, hw = archs.get(r["model_slug"]), profiles.get(r["hardware"])
        predicted = predicted_prefill(arch, hw, r, routing) if arch and hw else None
        rows.append(
            Row("prefill_speed", r["model_slug"], f"{r['quant']} {r['test']} on {r['hardware']}",
                float(r["tokens_per_s"]), predicted, r["source"], r.get("notes", ""),
                _use(r), "prefill")
        )  # fmt: skip
    return rows


def bandwidth_rows(inv: Inventory) -> list[Row]:
    """Measured reads of a DIMM population against the bandwidth we compute for it
    (``memory_bandwidth.csv``): predicted is every filled channel at the MT/s the platform
    rules give, over the sockets the measurement read. Reported, not bounded: a measured
    read above our figure would mean a rule under-counts."""
    rows = []
    for r in filter(included, read_reference("memory_bandwidth.csv")):
        platform = inv.platforms.get(r["platform"])
        predicted = None
        if platform is not None:
            host = reference_host(f"platform:{r['platform']}:{r['dimms']}", inv)
            setup = host.setup
            if setup is not None:
                sockets = int(r["sockets_read"])
                predicted = setup.theoretical_gbps * sockets / setup.sockets_used
        rows.append(
            Row("memory_bandwidth", r["platform"], f"{r['dimms']} ({r['tool']})",
                float(r["measured_gbps"]), predicted, r["source"], r.get("notes", ""),
                "", "bandwidth")
        )  # fmt: skip
    return rows


def all_rows(
    archs: Mapping[str, Architecture],
    profiles: Mapping[str, HardwareProfile],
    *,
    moe_penalty: float,
) -> list[Row]:
    inv = reference_inventory(profiles)
    builders: list[Callable[[], list[Row]]] = [
        lambda: file_size_rows(archs),
        lambda: param_rows(archs),
        lambda: kv_rows(archs),
        lambda: speed_rows(archs, profiles, moe_penalty=moe_penalty),
        lambda: build_speed_rows(archs, inv),
        lambda: prefill_rows(archs, profiles),
        lambda: bandwidth_rows(inv),
    ]
    return [row for build in builders for row in build()]


def summarize(rows: list[Row]) -> list[Summary]:
    summaries = []
    for kind in dict.fromkeys(r.kind for r in rows):
        errors = sorted(abs(r.error) for r in rows if r.kind == kind and r.error is not None)
        if not errors:
            continue
        p90 = errors[min(len(errors) - 1, int(round(0.9 * (len(errors) - 1))))]
        summaries.append(Summary(kind, len(errors), statistics.median(errors), p90, errors[-1]))
    return summaries


@dataclass(frozen=True, slots=True)
class Accuracy:
    """Held-out rows of one group within a bound."""

    group: str
    rows: int
    within: int
    bound: float

    @property
    def share(self) -> float:
        return self.within / self.rows if self.rows else 0.0


def held_out_accuracy(rows: list[Row], group: str, bound: float) -> Accuracy:
    """How many held-out rows of ``group`` the engine predicts within ``bound``."""
    found = [r for r in rows if r.group == group and r.held_out and r.error is not None]
    return Accuracy(group, len(found), sum(abs(r.error or 0) <= bound for r in found), bound)
