"""The one parser of calculator options, shared by the pages, the JSON API and the CLI.

``FIELDS`` is the table: one entry per option, in the canonical order (the order of
``canonical_query``, of the CLI flags and of the API's parameters). Each entry turns
what a user types into the canonical value, with bounds taken from the engine:

* ``quant``: any case, echoed as the preset's own name (``q4_k_m`` → ``Q4_K_M``);
  validity comes from ``calculator.engine.quant.canonical_quant``; a published file's
  label (``ud-q2_k_xl`` → ``UD-Q2_K_XL``) is accepted by its syntax and resolved
  against the model's files by the caller;
* ``context``: ``8192``, ``32k``, ``128K``, ``1M``, ``32,768`` (K = 1024), up to
  ``MAX_CONTEXT``;
* ``kv_type``: one of the engine's ``KV_TYPES`` (any case);
* ``parallel``: 1 to ``MAX_PARALLEL`` sequences.

Two modes, one set of rules:

* ``parse_lenient`` (pages): a bad field keeps its default and yields a
  ``Problem(field, message)`` for the page to show inline;
* ``parse_strict`` (API and CLI): the first bad field raises
  ``EngineError(message, field)`` (the API answers 400 naming the field, the CLI a
  ``CommandError``).

Blank values (``?quant=``, an unset flag) mean "the default". Both modes fill a copy of
``defaults``, a dataclass with one attribute per field (``Options`` for ``FIELDS``).

``BUILD_FIELDS`` is the second table, the machine a visitor picks, filling a
:class:`BuildQuery`: ``build`` (a preset build's slug), ``host`` (a platform or machine
slug), ``ram_gb``, ``dimms`` (how many DIMMs hold ``ram_gb``) and ``gpu``
(``<slug>[:count]``, repeatable: a field with ``many=True`` reads every value given).
The parser checks their syntax and bounds; whether a slug names a real platform, GPU or
preset, and whether the platform can hold the memory, is the engine's to say
(``calculator.services.build_from_query``). The same two modes and the same canonical
query apply: ``canonical_query(query, BUILD_DEFAULTS, BUILD_NAMES)``, in the table's
order, every ``gpu`` value kept in the order given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import urlencode

from calculator.engine.estimate import MAX_CONTEXT, MAX_PARALLEL, Options
from calculator.engine.kv_cache import KV_TYPES
from calculator.engine.quant import canonical_published_label, canonical_quant
from calculator.engine.types import EngineError

T = TypeVar("T")

DEFAULTS = Options()
MAX_INPUT = 40  # characters; longer input is refused before any parsing
ECHO = 20  # characters of a bad value repeated in its message


@dataclass(frozen=True, slots=True)
class Problem:
    """A field a page could not use, and why (shown inline; the default was used)."""

    field: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class OptionField:
    name: str  # query parameter, API field, CLI flag (``--kv-type``) and attribute filled
    label: str  # how a page names it
    help: str  # what it accepts (API schema and CLI --help)
    parse: Callable[[object], Any]  # typed input → canonical value, or EngineError(…, name)
    many: bool = False  # repeatable (``gpu=a&gpu=b``): ``parse`` gets the list of values

    def text(self, value: Any) -> str:
        """The canonical value as it appears in a query string."""
        return str(value)

    def items(self, value: Any) -> list[tuple[str, str]]:
        """(name, text) pairs for a query string: one per value of a repeatable field."""
        if self.many:
            return [(self.name, self.text(v)) for v in value]
        return [(self.name, self.text(value))]


def _shown(raw: object) -> str:
    return str(raw).strip()[:ECHO]


def _text(raw: object, name: str) -> str:
    text = str(raw).strip()
    if len(text) > MAX_INPUT:
        raise EngineError(f"{name} '{text[:ECHO]}…' is too long", name)
    return text


def _whole_number(raw: object, name: str) -> int | None:
    """An int from an int or from digits (``32,768`` and ``32_768`` too); else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    text = re.sub(r"[\s,_]", "", _text(raw, name))
    return int(text) if text.isdigit() and len(text) <= 12 else None


def parse_quant(raw: object) -> str:
    """A llama-quantize preset or release type, canonically spelled (``q4_k_m`` ->
    ``Q4_K_M``, ``mxfp4`` -> ``MXFP4``), or the label of a published file (``ud-q2_k_xl``
    -> ``UD-Q2_K_XL``). Whether a model has a file of that label is not syntax: the
    caller resolves it against the model's files (``catalog.gguf_selectors``)."""
    text = _text(raw, "quant")
    try:
        return canonical_quant(text)
    except EngineError as err:
        try:
            return canonical_published_label(text)
        except EngineError:
            raise EngineError(
                f"{err} (or a published file's label such as UD-Q2_K_XL)", "quant"
            ) from None


_CONTEXT = re.compile(r"(\d{1,9})([km]?)", re.IGNORECASE)
_CONTEXT_UNITS = {"": 1, "k": 1024, "m": 1024 * 1024}


def parse_context(raw: object) -> int:
    tokens = _whole_number(raw, "context")
    if tokens is None:
        match = _CONTEXT.fullmatch(re.sub(r"[\s,_]", "", _text(raw, "context")))
        if match is None:
            raise EngineError(
                f"context '{_shown(raw)}' is not a number of tokens (try 8192, 32k or 1M)",
                "context",
            )
        tokens = int(match.group(1)) * _CONTEXT_UNITS[match.group(2).lower()]
    if not 0 < tokens <= MAX_CONTEXT:
        raise EngineError(
            f"context must be between 1 and {MAX_CONTEXT:,} tokens (got {_shown(raw)})",
            "context",
        )
    return tokens


def parse_kv_type(raw: object) -> str:
    kv_type = _text(raw, "kv_type").lower()
    if kv_type not in KV_TYPES:
        raise EngineError(
            f"unknown kv_type '{_shown(raw)}'; use one of: {', '.join(KV_TYPES)}", "kv_type"
        )
    return kv_type


def parse_parallel(raw: object) -> int:
    parallel = _whole_number(raw, "parallel")
    if parallel is None or not 0 < parallel <= MAX_PARALLEL:
        raise EngineError(
            f"parallel must be a whole number from 1 to {MAX_PARALLEL} (got {_shown(raw)})",
            "parallel",
        )
    return parallel


FIELDS: tuple[OptionField, ...] = (
    OptionField(
        "quant",
        "Quantization",
        "llama.cpp quantization preset or a published file's label, any case (Q4_K_M, "
        "UD-Q2_K_XL); default: the model's own (MXFP4 for gpt-oss)",
        parse_quant,
    ),
    OptionField(
        "context",
        "Context length (tokens)",
        f"tokens: 8192, 32k, 128K or 1M (K = 1024), at most {MAX_CONTEXT:,}",
        parse_context,
    ),  # fmt: skip
    OptionField("kv_type", "KV-cache type", f"KV-cache type: {', '.join(KV_TYPES)}", parse_kv_type),
    OptionField(
        "parallel", "Parallel sequences", f"parallel sequences, 1 to {MAX_PARALLEL}", parse_parallel
    ),
)
NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)


# --- the build a visitor picks ---------------------------------------------------------

MAX_GPUS = 8  # the engine's limit (calculator.engine.build.MAX_GPUS); checked there too
MAX_RAM_GB = 100_000
MAX_DIMMS = 64
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,59}")


@dataclass(frozen=True, slots=True)
class GpuPick:
    """``rtx-3090:2``: a GPU profile's slug and how many cards."""

    slug: str
    count: int = 1

    def __str__(self) -> str:
        return self.slug if self.count == 1 else f"{self.slug}:{self.count}"


@dataclass(frozen=True, slots=True)
class BuildQuery:
    """The machine asked for: a preset build, or a host with RAM, DIMMs and GPUs."""

    build: str = ""
    host: str = ""
    ram_gb: int | None = None
    dimms: int | None = None
    gpu: tuple[GpuPick, ...] = ()

    @property
    def given(self) -> bool:
        return self != BUILD_DEFAULTS


BUILD_DEFAULTS = BuildQuery()


def _slug(raw: object, name: str, what: str) -> str:
    text = _text(raw, name).lower()
    if not _SLUG.fullmatch(text):
        raise EngineError(f"{what} '{_shown(raw)}' is not a slug (such as {name}-name)", name)
    return text


def parse_build(raw: object) -> str:
    return _slug(raw, "build", "build")


def parse_host(raw: object) -> str:
    return _slug(raw, "host", "host")


def _bounded(raw: object, name: str, top: int, what: str) -> int:
    value = _whole_number(raw, name)
    if value is None or not 0 < value <= top:
        raise EngineError(f"{what} must be a whole number from 1 to {top:,} (got {_shown(raw)})",
                          name)  # fmt: skip
    return value


def parse_ram_gb(raw: object) -> int:
    return _bounded(raw, "ram_gb", MAX_RAM_GB, "ram_gb (GB of RAM installed)")


def parse_dimms(raw: object) -> int:
    return _bounded(raw, "dimms", MAX_DIMMS, "dimms (how many DIMMs)")


def _gpu_pick(raw: object) -> GpuPick:
    text = _text(raw, "gpu").lower()
    slug, _, count = text.partition(":")
    slug = _slug(slug, "gpu", "GPU")
    if not count:
        return GpuPick(slug)
    number = _whole_number(count, "gpu")
    if number is None or not 0 < number <= MAX_GPUS:
        raise EngineError(
            f"GPU count must be between 1 and {MAX_GPUS} (got '{_shown(raw)}')", "gpu"
        )
    return GpuPick(slug, number)


def parse_gpus(raw: object) -> tuple[GpuPick, ...]:
    """Every ``gpu`` value (``rtx-3090:2``), at most ``MAX_GPUS`` cards in all."""
    values = raw if isinstance(raw, list | tuple) else [raw]
    picks = tuple(_gpu_pick(v) for v in values if not _absent(v))
    total = sum(p.count for p in picks)
    if total > MAX_GPUS:
        raise EngineError(f"a build holds at most {MAX_GPUS} GPUs, not {total}", "gpu")
    return picks


BUILD_FIELDS: tuple[OptionField, ...] = (
    OptionField("build", "Preset build", "a preset build's slug (see /builds/)", parse_build),
    OptionField(
        "host",
        "Platform or machine",
        "a CPU platform or a machine's slug (sp5-epyc-9004-1p, apple-m3-ultra-512)",
        parse_host,
    ),  # fmt: skip
    OptionField("ram_gb", "RAM installed (GB)", "GB of RAM installed in the host", parse_ram_gb),
    OptionField("dimms", "DIMMs", "how many DIMMs hold ram_gb", parse_dimms),
    OptionField(
        "gpu",
        "GPUs",
        f"a GPU profile's slug, ':count' for several (rtx-3090:2); repeatable, at most "
        f"{MAX_GPUS} cards",
        parse_gpus,
        many=True,
    ),  # fmt: skip
)
BUILD_NAMES: tuple[str, ...] = tuple(f.name for f in BUILD_FIELDS)
TABLES: tuple[tuple[OptionField, ...], ...] = (FIELDS, BUILD_FIELDS)
BY_NAME: dict[str, OptionField] = {f.name: f for table in TABLES for f in table}


def _fields(names: Iterable[str]) -> list[OptionField]:
    wanted = set(names)
    unknown = wanted - set(BY_NAME)
    if unknown:
        raise KeyError(f"not an option: {', '.join(sorted(unknown))}")
    return [f for t in TABLES for f in t if f.name in wanted]  # always in the table's order


def _absent(raw: object) -> bool:
    if isinstance(raw, list | tuple):
        return all(_absent(v) for v in raw)
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _raw(data: Mapping[str, Any], field: OptionField) -> object:
    """What ``data`` gives for ``field``: every value of a repeatable field (a
    ``QueryDict``'s list, a list, or one value), else the one value."""
    if field.many and hasattr(data, "getlist"):
        return data.getlist(field.name)
    return data.get(field.name)


def raw_items(data: Mapping[str, Any], fields: Iterable[str]) -> list[tuple[str, str]]:
    """(name, value) of every non-blank value given for ``fields``, as typed, in the
    table's order (a page with a bad value is rendered from what was typed)."""
    items: list[tuple[str, str]] = []
    for field in _fields(fields):
        raw = _raw(data, field)
        values = raw if isinstance(raw, list | tuple) else [raw]
        items.extend((field.name, str(v)) for v in values if not _absent(v))
    return items


def parse_value(name: str, raw: object) -> Any:
    """One field, strictly: the canonical value, or ``EngineError`` naming ``name``."""
    return BY_NAME[name].parse(raw)


def _validate(options: object) -> None:
    validate = getattr(options, "validate", None)
    if validate is not None:
        validate()  # rules across fields (e.g. a quantized KV cache needs flash attention)


def parse_strict(
    data: Mapping[str, Any],
    defaults: T = DEFAULTS,  # type: ignore[assignment]
    fields: Iterable[str] = NAMES,
) -> T:
    """``defaults`` with every given field of ``fields`` parsed from ``data``; the first
    bad field raises ``EngineError(message, field)``."""
    values = {}
    for field in _fields(fields):
        raw = _raw(data, field)
        if not _absent(raw):
            values[field.name] = field.parse(raw)
    options = replace(defaults, **values)  # type: ignore[type-var]
    _validate(options)
    return options


def parse_lenient(
    data: Mapping[str, Any],
    defaults: T = DEFAULTS,  # type: ignore[assignment]
    fields: Iterable[str] = NAMES,
) -> tuple[T, tuple[Problem, ...]]:
    """Like ``parse_strict``, but a bad field keeps its default and is reported as a
    ``Problem``; nothing raises."""
    values, problems = {}, []
    for field in _fields(fields):
        raw = _raw(data, field)
        if _absent(raw):
            continue
        try:
            values[field.name] = field.parse(raw)
        except EngineError as err:
            problems.append(Problem(field.name, str(err)))
    options = replace(defaults, **values)  # type: ignore[type-var]
    try:
        _validate(options)
    except EngineError as err:
        problems.append(Problem(err.field, str(err)))
        options = defaults
    return options, tuple(problems)


def canonical_items(
    options: Any, defaults: Any = DEFAULTS, fields: Iterable[str] = NAMES
) -> list[tuple[str, str]]:
    """(name, canonical text) of each field that differs from ``defaults``, in order."""
    return [
        item
        for f in _fields(fields)
        if getattr(options, f.name) != getattr(defaults, f.name)
        for item in f.items(getattr(options, f.name))
    ]


def canonical_query(options: Any, defaults: Any = DEFAULTS, fields: Iterable[str] = NAMES) -> str:
    """The query string (no ``?``) that reproduces ``options``: only the fields that
    differ from ``defaults``, in the table's order, canonically spelled. The same
    options always give the same string, so it can key a cache."""
    return urlencode(canonical_items(options, defaults, fields))
