"""The bridge between stored rows and the engine.

Views, the API, the CLI and the FAQ call these functions; they turn database
rows into engine values (cached per row version) and never compute a figure
themselves.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from django.db import transaction

from calculator import versions
from calculator.engine import context
from calculator.engine import hardware as hw
from calculator.engine.build import (
    Build,
    Efficiency,
    Inventory,
    Tuning,
    build_from_spec,
    device_build,
)
from calculator.engine.estimate import BuildsEstimate, Estimate, Options, estimate, estimate_builds
from calculator.engine.fit import QuantPick, best_quant_on
from calculator.engine.platform import Platform, platforms_from_data
from calculator.engine.quant import WeightsBreakdown
from calculator.engine.types import Architecture, EngineError
from calculator.models import (
    SEED_FIELDS,
    EfficiencyClass,
    HardwareProfile,
    LlmModel,
    checksum,
    parse_row_config,
)
from calculator.options import BuildQuery

DATA_DIR = Path(__file__).resolve().parent / "data"
MODELS_DIR = DATA_DIR / "models"
HARDWARE_FILE = DATA_DIR / "hardware.json"
PLATFORMS_FILE = DATA_DIR / "platforms.json"
BUILDS_FILE = DATA_DIR / "builds.json"
MOE_PENALTY_KEY = "moe_penalty"
MULTI_GPU_KEY = "multi_gpu"  # overhead_ms: per token for each GPU after the first
PCIE_KEY = "pcie"  # eta: share of the PCIe link weight copies to a GPU reach
DEFAULT_HOST_SLUG = "desktop-ddr5-5600-2ch"
DEFAULT_PICKER_HOST = "am5-ryzen-9000"  # the platform GPUs picked without a host sit in


# --- loading reviewed data files ---------------------------------------------------


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_editor_changes: list[str] = field(default_factory=list)

    def summary(self, what: str) -> str:
        text = (
            f"{what}: {len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged"
        )
        if self.kept_editor_changes:
            text += (
                f"; kept admin edits of {', '.join(self.kept_editor_changes)} "
                "(data file not applied)"
            )
        return text


def _upsert(model: Any, lookup: dict[str, Any], values: dict[str, Any], report: LoadReport) -> None:
    """Create or update one seeded row without clobbering what an editor changed."""
    name = next(iter(lookup.values()))
    new_sum = checksum(values)
    row = model.objects.filter(**lookup).first()
    if row is None:
        row = model(**lookup, **values, seed_checksum=new_sum)
        row.full_clean()
        row.save()
        report.created.append(name)
        return
    if row.seed_checksum == new_sum:
        report.unchanged.append(name)
        return
    current = checksum({key: getattr(row, key) for key in values})
    if row.seed_checksum and current != row.seed_checksum:
        report.kept_editor_changes.append(name)
        return
    for key, value in values.items():
        setattr(row, key, value)
    row.seed_checksum = new_sum
    row.full_clean()
    row.save()
    report.updated.append(name)


def _model_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {key: data.get(key) for key in SEED_FIELDS}
    values["release_date"] = (
        date.fromisoformat(data["release_date"]) if data.get("release_date") else None
    )
    values["release_date_source"] = data.get("release_date_source") or ""
    values["summary"] = data.get("summary") or ""
    values["popular"] = bool(data.get("popular"))
    values["default_quant"] = data.get("default_quant") or "Q4_K_M"
    values["default_quant_source"] = data.get("default_quant_source") or ""
    values["long_context"] = data.get("long_context")
    return values


def models_load(*, directory: Path = MODELS_DIR) -> LoadReport:
    report = LoadReport()
    with transaction.atomic():
        for path in sorted(directory.glob("*.json")):
            data = json.loads(path.read_text())
            # A bad file fails loudly, naming the field (full_clean checks the rest).
            context.with_documented(parse_row_config(data["config"]), data.get("long_context"))
            _upsert(LlmModel, {"slug": data["slug"]}, _model_values(data), report)
    return report


def hardware_load(*, path: Path = HARDWARE_FILE) -> LoadReport:
    data = json.loads(path.read_text())
    report = LoadReport()
    with transaction.atomic():
        for key, value in data["efficiency"].items():
            values = {
                "eta": value["eta"],
                "low": value.get("low", value["eta"]),
                "high": value.get("high", value["eta"]),
                "overhead_ms": value.get("overhead_ms", 0.0),
                "sources": value.get("sources", []),
                "derivation": value.get("derivation", ""),
            }
            EfficiencyClass.objects.update_or_create(key=key, defaults=values)
        classes = {c.key: c for c in EfficiencyClass.objects.all()}
        for position, profile in enumerate(data["profiles"]):
            values = {
                "name": profile["name"],
                "kind": profile["kind"],
                "tier": profile["tier"],
                "memory_gb": profile["memory_gb"],
                "bandwidth_gbps": profile["bandwidth_gbps"],
                "efficiency_class": classes[profile["efficiency_class"]],
                "fp16_tflops": profile.get("fp16_tflops"),
                "gpu_memory_fraction": profile.get("gpu_memory_fraction"),
                "channels": profile.get("channels"),
                "mt_s": profile.get("mt_s"),
                "ddr": profile.get("ddr") or "",
                "dimm_type": profile.get("dimm_type") or "",
                "dimm_slots": profile.get("dimm_slots"),
                "source": profile["source"],
                "position": position,
            }
            _upsert(HardwareProfile, {"slug": profile["slug"]}, values, report)
    return report


# --- engine values from rows, cached per row version ------------------------------


_ARCHITECTURES: OrderedDict[tuple[str, object], Architecture] = OrderedDict()
_ARCHITECTURES_LIMIT = 256
_ARCHITECTURES_LOCK = threading.Lock()


def architecture_of(model: LlmModel) -> Architecture:
    """The engine's view of a row, parsed once per row version (``updated_at`` changes on
    every save), so a request never re-serialises or re-parses the config."""
    key = (model.slug, model.updated_at)
    with _ARCHITECTURES_LOCK:
        arch = _ARCHITECTURES.get(key)
    if arch is None:
        arch = model.parse()  # the config plus its documented long context
        with _ARCHITECTURES_LOCK:
            _ARCHITECTURES[key] = arch
            while len(_ARCHITECTURES) > _ARCHITECTURES_LIMIT:
                _ARCHITECTURES.popitem(last=False)
    return arch


def engine_profile(
    row: HardwareProfile, extras: dict[str, dict[str, Any]] | None = None
) -> hw.HardwareProfile:
    """``extras``: ``_profile_extras()``, when the caller converts many rows at once."""
    eff = row.efficiency_class
    extra = (_profile_extras() if extras is None else extras).get(row.slug, {})
    return hw.HardwareProfile(
        slug=row.slug,
        name=row.name,
        kind=row.kind,  # type: ignore[arg-type]
        memory_gb=row.memory_gb,
        bandwidth_gbps=row.bandwidth_gbps,
        efficiency=eff.eta,
        efficiency_low=eff.low,
        efficiency_high=eff.high,
        overhead_ms=eff.overhead_ms,
        tier=row.tier,
        gpu_memory_fraction=row.gpu_memory_fraction,
        fp16_tflops=row.fp16_tflops,
        channels=row.channels,
        mt_s=row.mt_s,
        ddr=row.ddr or None,
        dimm_type=row.dimm_type or None,
        dimm_slots=row.dimm_slots,
        source=row.source,
        link_gbps=extra.get("link_gbps"),
        prefill_efficiency=_prefill_etas().get(extra.get("prefill_class") or eff.key),
        prefill_tflops=extra.get("prefill_tflops"),
        moe_prefill_us=_moe_prefill_us(extra.get("backend") or _class_backend(eff.key)),
    )


# --- reviewed data files the engine reads beside the database rows -------------------
# (platforms, builds, and the profile facts the database does not store: PCIe links,
# measured prompt rates, the memory sizes a machine is sold with, prompt efficiencies)


@lru_cache(maxsize=16)
def _read_json(path: Path, mtime: float) -> Any:
    return json.loads(path.read_text())


def _data(path: Path) -> Any:
    return _read_json(path, path.stat().st_mtime)


def _profile_extras() -> dict[str, dict[str, Any]]:
    return {p["slug"]: p for p in _data(HARDWARE_FILE)["profiles"]}


def _prefill_etas() -> dict[str, float]:
    return {key: v["eta"] for key, v in _data(HARDWARE_FILE).get("prefill", {}).items()}


def _class_backend(key: str) -> str:
    """The llama.cpp backend a hardware class runs on (``cuda``, ``metal``...)."""
    return str(_data(HARDWARE_FILE)["efficiency"].get(key, {}).get("backend", ""))


def _moe_prefill_us(backend: str) -> float:
    """A backend's MoE routing time per prompt token and MoE layer (``prefill_moe``)."""
    entry = _data(HARDWARE_FILE).get("prefill_moe", {}).get(backend, {})
    return float(entry.get("us_per_token_layer", 0.0))


def platforms() -> Mapping[str, Platform]:
    """Every reviewed CPU platform (``platforms.json``), built once per version of the
    file (kit picks look each one up for every kit)."""
    return _platforms(PLATFORMS_FILE.stat().st_mtime)


@lru_cache(maxsize=1)
def _platforms(mtime: float) -> Mapping[str, Platform]:
    return MappingProxyType(platforms_from_data(_read_json(PLATFORMS_FILE, mtime)))


@dataclass(frozen=True)
class HardwareSet:
    profiles: tuple[hw.HardwareProfile, ...]
    host: hw.HardwareProfile | None
    moe_penalty: float
    efficiency_by_kind: dict[str, tuple[float, float]]  # kind → (eta, overhead_ms)
    efficiency: dict[str, Efficiency] = field(default_factory=dict)  # by class key
    extra_gpu_ms: float = 0.0
    link_efficiency: float = 1.0  # PCIe weight copies, share of the link

    def get(self, slug: str) -> hw.HardwareProfile | None:
        return next((p for p in self.profiles if p.slug == slug), None)

    @property
    def tuning(self) -> Tuning:
        return Tuning(self.moe_penalty, self.extra_gpu_ms, self.link_efficiency)


# hardware.json efficiency class that a visitor's own machine of each kind uses
KIND_CLASS = {"gpu": "cuda", "apple": "metal", "apu": "apu", "cpu": "cpu_ddr"}


def _read_hardware(_: None) -> tuple[HardwareSet, tuple[Build, ...]]:
    hardware = _read_hardware_set()
    return hardware, _read_preset_builds(hardware)


# The hardware set and the preset builds on it, read once per version of the MODELS data
# (any saved profile or efficiency class bumps it).
_hardware_now = versions.PerVersion(versions.MODELS, _read_hardware)


def hardware_set() -> HardwareSet:
    """Hardware profiles and efficiencies from the database (read once per data version)."""
    return _hardware_now(None)[0]


def _read_hardware_set() -> HardwareSet:
    rows = list(HardwareProfile.objects.listed())
    classes = {c.key: c for c in EfficiencyClass.objects.all()}
    extras = _profile_extras()
    profiles = tuple(engine_profile(r, extras) for r in rows)
    host = next((p for p in profiles if p.slug == DEFAULT_HOST_SLUG), None) or next(
        (p for p in profiles if p.kind == "cpu"), None
    )
    penalty = classes[MOE_PENALTY_KEY].eta if MOE_PENALTY_KEY in classes else 1.0
    by_kind = {
        kind: (classes[key].eta, classes[key].overhead_ms)
        for kind, key in KIND_CLASS.items()
        if key in classes
    }
    prefill = _prefill_etas()
    efficiency = {
        key: Efficiency(
            c.eta,
            c.low,
            c.high,
            c.overhead_ms,
            prefill.get(key),
            _moe_prefill_us(_class_backend(key)),
        )
        for key, c in classes.items()
    }
    extra = classes[MULTI_GPU_KEY].overhead_ms if MULTI_GPU_KEY in classes else 0.0
    link = classes[PCIE_KEY].eta if PCIE_KEY in classes else 1.0
    return HardwareSet(profiles, host, penalty, by_kind, efficiency, extra, link)


def custom_hardware(
    hardware: HardwareSet,
    *,
    memory_gb: float,
    bandwidth_gbps: float,
    kind: str,
    fp16_tflops: float | None = None,
    sockets: int = 1,
) -> hw.HardwareProfile:
    """A visitor's own machine; with ``fp16_tflops`` its prompt speed is estimated too
    (its kind's fitted prompt efficiency), ``sockets``: 1 or 2 (NUMA, as a platform's)."""
    eff = hardware.efficiency.get(KIND_CLASS[kind])
    return hw.custom_profile(
        memory_gb=memory_gb,
        bandwidth_gbps=bandwidth_gbps,
        kind=kind,  # type: ignore[arg-type]
        efficiency=hardware.efficiency_by_kind[kind][0],
        overhead_ms=hardware.efficiency_by_kind[kind][1],
        fp16_tflops=fp16_tflops,
        prefill_efficiency=eff.prefill_eta if eff and fp16_tflops else None,
        moe_prefill_us=eff.moe_prefill_us if eff else 0.0,
        sockets=sockets,
    )


def estimate_for(
    arch: Architecture,
    options: Options,
    hardware: HardwareSet,
    profiles: Sequence[hw.HardwareProfile] | None = None,
    weights: WeightsBreakdown | None = None,
    model_file: str = "",
) -> Estimate:
    """``weights``: a published file's own (``catalog.gguf_selectors``), else predicted;
    ``model_file``: the listed GGUF a preset's commands load ("": none is listed)."""
    return estimate(
        arch,
        options,
        hardware.profiles if profiles is None else profiles,
        host=hardware.host,
        moe_penalty=hardware.moe_penalty,
        extra_gpu_ms=hardware.extra_gpu_ms,
        link_efficiency=hardware.link_efficiency,
        weights=weights,
        model_file=model_file,
    )


# --- builds --------------------------------------------------------------------------


def inventory(hardware: HardwareSet) -> Inventory:
    """Everything a build may name: listed profiles, platforms, class coefficients."""
    extras = _profile_extras()
    options = {
        slug: tuple(extra["memory_options_gb"])
        for slug, extra in extras.items()
        if extra.get("memory_options_gb")
    }
    return Inventory(
        profiles={p.slug: p for p in hardware.profiles},
        platforms=platforms(),
        efficiency=hardware.efficiency,
        memory_options_gb=options,
        tuning=hardware.tuning,
    )


def build_from_request(spec: Any, hardware: HardwareSet) -> Build:
    """The API's ``build`` object as an engine build (``EngineError`` names the field)."""
    return build_from_spec(spec, inventory(hardware))


def preset_builds(hardware: HardwareSet) -> tuple[Build, ...]:
    """The reviewed preset builds (``builds.json``), in file order."""
    current, builds = _hardware_now(None)
    return builds if hardware is current else _read_preset_builds(hardware)


def _read_preset_builds(hardware: HardwareSet) -> tuple[Build, ...]:
    inv = inventory(hardware)
    return tuple(
        build_from_spec(
            {**entry["build"], "sources": entry.get("sources", [])},
            inv,
            slug=entry["slug"],
            name=entry["name"],
        )
        for entry in _data(BUILDS_FILE)["builds"]
    )


def preset_build(slug: str, hardware: HardwareSet) -> Build | None:
    return next((b for b in preset_builds(hardware) if b.slug == slug), None)


# Which query field a build error belongs to: the engine names the API's spec field
# (``build.host.memory_gb``); a page, the GET API and the CLI name their own (``ram_gb``).
# The first prefix that matches wins.
QUERY_FIELD_OF: tuple[tuple[str, str], ...] = (
    ("build.host.memory_gb", "ram_gb"),
    ("build.host.dimms", "dimms"),
    ("build.host", "host"),
    ("build.gpus", "gpu"),
)


def query_field(spec_field: str) -> str:
    return next((q for prefix, q in QUERY_FIELD_OF if spec_field.startswith(prefix)), "build")


def build_spec(query: BuildQuery, hardware: HardwareSet) -> dict[str, Any]:
    """The API-shaped spec for a picked host, RAM, DIMMs and GPUs (GPUs without a host
    sit in ``DEFAULT_PICKER_HOST``)."""
    host: dict[str, Any] = {"profile": query.host or DEFAULT_PICKER_HOST}
    if query.ram_gb is not None:
        host["memory_gb"] = query.ram_gb
    if query.dimms is not None:
        if query.ram_gb is None or query.ram_gb % query.dimms:
            raise EngineError("give ram_gb as a whole number of GB per DIMM with dimms",
                              "dimms")  # fmt: skip
        host["dimms"] = {"count": query.dimms, "size_gb": query.ram_gb // query.dimms}
    elif host["profile"] in platforms() and query.ram_gb is None:
        raise EngineError("give the GB of RAM installed on this platform", "ram_gb")
    gpus = [{"profile": g.slug, "count": g.count} for g in query.gpu]
    return {"host": host, "gpus": gpus}


def build_from_query(query: BuildQuery, hardware: HardwareSet) -> Build | None:
    """The build a page, the GET API or the CLI asks about: a preset (``build``), or a
    host with RAM, DIMMs and GPUs; None when nothing is asked. ``EngineError`` names the
    query field (``gpu``, ``ram_gb``, ``host``...)."""
    if not query.given:
        return None
    if query.build:
        preset = preset_build(query.build, hardware)
        if preset is None:
            raise EngineError(f"unknown build '{query.build}': see /builds/", "build")
        return preset
    spec = build_spec(query, hardware)  # its errors name query fields already
    try:
        return build_from_spec(spec, inventory(hardware))
    except EngineError as err:
        raise EngineError(str(err), query_field(err.field)) from None


def estimate_on_builds(
    arch: Architecture,
    options: Options,
    hardware: HardwareSet,
    builds: Sequence[Build] | None = None,
    weights: WeightsBreakdown | None = None,
    model_file: str = "",
) -> BuildsEstimate:
    """One model on the preset builds (or ``builds``), fastest first; ``weights``: a
    published file's own instead of the preset's prediction; ``model_file``: the listed
    GGUF a preset's commands load."""
    chosen = preset_builds(hardware) if builds is None else builds
    return estimate_builds(
        arch, options, chosen, tuning=hardware.tuning, weights=weights, model_file=model_file
    )


# --- the one "best quant" rule on the machines pages, FAQ and API name ------------------


def profile_build(profile: hw.HardwareProfile, hardware: HardwareSet) -> Build:
    """The build a listed profile stands for (what its per-profile speeds plan on): a GPU
    beside the default desktop host, or the machine alone."""
    return device_build(profile, hardware.host or profile)


def ram_machine(memory_gb: float, hardware: HardwareSet) -> Build:
    """A CPU machine with ``memory_gb`` of RAM (what "fits in 128 GB" means): on it
    "comfortable" is exactly "within the recommended RAM"."""
    bandwidth = hardware.host.bandwidth_gbps if hardware.host else 89.6
    machine = custom_hardware(hardware, memory_gb=memory_gb, bandwidth_gbps=bandwidth, kind="cpu")
    return device_build(machine, machine)


def best_quant_for(
    arch: Architecture, options: Options, build: Build, hardware: HardwareSet
) -> QuantPick | None:
    """THE best quant of ``arch`` on ``build`` (:func:`calculator.engine.fit.best_quant_on`
    with the calibrated tuning): every page, FAQ answer and API figure asks this."""
    return best_quant_on(arch, options, build, tuning=hardware.tuning)


def find_model(key: str) -> LlmModel | None:
    """A published model by slug or Hugging Face repo id (case-insensitive)."""
    slugs, repos = _published_now(None)
    key = key.lower()
    return slugs.get(key) or repos.get(key)


def _read_published(_: None) -> tuple[dict[str, LlmModel], dict[str, LlmModel]]:
    slugs: dict[str, LlmModel] = {}
    repos: dict[str, LlmModel] = {}
    for model in LlmModel.objects.published().order_by("pk"):
        slugs[model.slug.lower()] = model
        if model.hf_repo:
            repos.setdefault(model.hf_repo.lower(), model)  # the first, as .first() took
    return slugs, repos


# Published models by slug and by repository id, read once per version of the MODELS
# data (any saved model bumps it): a page or API call finds its model without a query
# (about 1 ms each, cold).
_published_now = versions.PerVersion(versions.MODELS, _read_published)
