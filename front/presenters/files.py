"""Published GGUF files on a model page, in the API and in the CLI.

* ``model_defaults(model)``: the options a model shows when none are given (its own
  default quant: MXFP4 for gpt-oss); ``defaults_for_page`` / ``defaults_for_api`` give
  them to the response cache from a URL (a per-process map, rebuilt when the models data
  version changes, so a cache hit asks the database nothing).
* ``choose_quant``: the quant asked for, met with the model's files
  (``catalog.gguf_selectors.resolve_quant``): a preset is predicted, a published label
  uses that file's real weights; an unknown label is a ``Problem`` on pages (the default
  is shown) and an ``EngineError`` naming ``quant`` for the API and CLI.
* ``files_table``: "Files you can download": each file with its link, size, the preset
  builds it runs on (the engine's one fit rule, ``estimate_builds``) and, for files named
  after a standard preset, our prediction beside the file with the difference.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any, TypedDict

from django.http import HttpRequest

from calculator import services, versions
from calculator.engine.estimate import Options
from calculator.engine.quant import is_standard, weights_bytes
from calculator.engine.types import Architecture, EngineError
from calculator.models import LlmModel
from calculator.options import DEFAULTS, Problem
from catalog import gguf_selectors
from catalog.gguf_selectors import PublishedWeights
from catalog.models import GgufFile
from front.presenters.labels import page_query

# ── Defaults per model ──────────────────────────────────────────────────────────

_LOCK = threading.Lock()


class _QuantsMemo(TypedDict):
    version: tuple[str, ...] | None  # versions.current(MODELS) the map was built at
    map: dict[str, str]  # slug and lower-cased repo → default quant


_DEFAULT_QUANTS: _QuantsMemo = {"version": None, "map": {}}


def model_defaults(model: LlmModel) -> Options:
    return replace(DEFAULTS, quant=model.default_quant or DEFAULTS.quant)


def _default_quants(request: HttpRequest) -> dict[str, str]:
    version = versions.current_for(request, versions.MODELS)
    with _LOCK:
        if _DEFAULT_QUANTS["version"] == version:
            return _DEFAULT_QUANTS["map"]
    found: dict[str, str] = {}
    for slug, repo, quant in LlmModel.objects.values_list("slug", "hf_repo", "default_quant"):
        found[slug] = found[repo.lower()] = quant
    with _LOCK:
        _DEFAULT_QUANTS["version"], _DEFAULT_QUANTS["map"] = version, found
    return found


# A model the map does not name (found by its name or nickname): no quant is a default
# there, so an explicit quant is always kept and a page without one is not cached.
_UNKNOWN_DEFAULTS = replace(DEFAULTS, quant="")


def _defaults_for(request: HttpRequest, key: str) -> Options:
    quant = _default_quants(request).get(key.strip().lower()) if key else None
    return replace(DEFAULTS, quant=quant) if quant else _UNKNOWN_DEFAULTS


def defaults_for_page(request: HttpRequest, kwargs: dict[str, Any]) -> Options:
    return _defaults_for(request, str(kwargs.get("slug", "")))


def defaults_for_api(request: HttpRequest, kwargs: dict[str, Any]) -> Options:
    return _defaults_for(request, request.GET.get("model", "")[:200])


# ── The quant asked for, met with the model's files ─────────────────────────────


@dataclass(frozen=True)
class QuantChoice:
    options: Options
    published: PublishedWeights | None
    problems: tuple[Problem, ...] = ()
    model_file: str = ""  # a preset's or release's listed GGUF, which commands load

    @property
    def weights(self) -> Any:
        return self.published.weights if self.published else None

    @property
    def notes(self) -> tuple[str, ...]:
        return (self.published.note,) if self.published else ()


def choose_quant(
    model: LlmModel,
    arch: Architecture,
    options: Options,
    *,
    strict: bool,
    files: list[GgufFile] | None = None,
) -> QuantChoice:
    """``options`` with their quant resolved against the model's files (``files``: the
    model's, when the caller has them already)."""
    try:
        published = gguf_selectors.resolve_quant(model, arch, options.quant, files)
    except EngineError as err:
        if strict:
            raise
        shown = model_defaults(model)
        fallback = replace(options, quant=shown.quant)
        return QuantChoice(fallback, None, (Problem("quant", str(err)),))
    if published is not None:  # its weights name the file already
        return QuantChoice(options, published)
    return QuantChoice(
        options, None, model_file=gguf_selectors.file_path(model, options.quant, files)
    )


def published_labels(model: LlmModel, files: list[GgufFile] | None = None) -> list[str]:
    return gguf_selectors.published_labels(model, files)


# ── Files you can download ──────────────────────────────────────────────────────


@dataclass(frozen=True)
class RunsOn:
    name: str
    fit: str  # comfortable / tight / offload
    tokens_per_s: float | None


@dataclass(frozen=True)
class FileRow:
    file: GgufFile
    label: str
    url: str
    size_bytes: int | None
    exact: bool
    parts: int
    predicted_bytes: int | None  # standard presets only
    difference: float | None  # (predicted - file) / file
    runs_on: tuple[RunsOn, ...]
    builds: int  # preset builds considered
    query: str  # the page's query string with this file's quant
    selectable: bool


def _runs_on(
    arch: Architecture, options: Options, hardware: services.HardwareSet, weights: Any
) -> tuple[RunsOn, ...]:
    result = services.estimate_on_builds(arch, options, hardware, weights=weights)
    return tuple(RunsOn(p.build.name, p.fit, p.tokens_per_s) for p in result.placements if p.runs)


def files_table(
    model: LlmModel,
    arch: Architecture,
    options: Options,
    hardware: services.HardwareSet,
    files: list[GgufFile] | None = None,
) -> tuple[FileRow, ...]:
    """Every listed file of the model at the page's context, KV type and parallel."""
    files = gguf_selectors.model_files(model) if files is None else files
    if not files:
        return ()
    defaults = model_defaults(model)
    n_builds = len(services.preset_builds(hardware))
    selectable = gguf_selectors.published_labels(model, files)
    rows = []
    for gguf in files:
        standard = is_standard(gguf.label)
        predicted = difference = None
        runs: tuple[RunsOn, ...] = ()
        chosen = replace(options, quant=gguf.label)
        if gguf.total_bytes:
            published = gguf_selectors.file_weights(arch, gguf)
            runs = _runs_on(arch, chosen, hardware, published.weights)
            if standard and gguf.standard_mix:
                predicted = weights_bytes(arch, gguf.label).total_bytes
                difference = (predicted - gguf.total_bytes) / gguf.total_bytes
        rows.append(
            FileRow(
                file=gguf,
                label=gguf.label,
                url=gguf.url,
                size_bytes=gguf.total_bytes,
                exact=gguf.is_exact,
                parts=gguf.part_count,
                predicted_bytes=predicted,
                difference=difference,
                runs_on=runs,
                builds=n_builds,
                query=page_query(chosen, defaults),
                selectable=standard or gguf.label in selectable,
            )
        )
    return tuple(rows)
