"""JSON API v1: the same estimates as the pages, for scripts and other sites.

Field names are a contract: extend, never rename. Every error is JSON,
``{"error": {"field": ..., "message": ...}}``: 400 for bad input (an ``EngineError``
names its field), 404, 405, 413, 429, and 500 with ``field: "server"`` for our own
faults (``front.middleware.ApiErrorsAsJson`` covers errors no operation saw). An
OpenAPI schema is served at ``/api/v1/openapi.json``. The calculator options (quant,
context, kv_type, parallel) are read by ``calculator.options`` in strict mode, like the
CLI: ``context=32k`` and ``quant=q4_k_m`` are understood, and the answer echoes
canonical values.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Query, Schema
from ninja.decorators import decorate_view
from ninja.errors import HttpError, ValidationError
from pydantic import BaseModel, Field, create_model

from calculator import options as option_table
from calculator import selectors, services
from calculator.engine import hardware as hw
from calculator.engine.architecture import parse_config
from calculator.engine.build import Build
from calculator.engine.estimate import Options
from calculator.engine.quant import PRESETS, native_weights_bytes, weights_bytes
from calculator.engine.types import Architecture, EngineError
from calculator.models import LlmModel
from catalog import gguf_selectors
from catalog.gguf_selectors import PublishedWeights
from config import deadline
from front import search
from front.api_limits import RateLimit, error_response, guard, layer_count_over_limit
from front.caching import cached_page
from front.payloads import estimate_payload, file_payload, model_payload
from front.presenters.files import choose_quant, defaults_for_api, model_defaults

log = logging.getLogger(__name__)

api = NinjaAPI(
    title="LLM RAM calculator API",
    version="1",
    urls_namespace="api",
    docs_url=None,  # the schema is served; no CDN-hosted docs page
)


@api.exception_handler(deadline.DeadlineExceeded)
@api.exception_handler(OperationalError)
def _unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Past REQUEST_DEADLINE, or the database unreachable: a JSON 503 with Retry-After
    (``config/deadline.py``), as the pages answer, not the catch-all 500 below."""
    return deadline.response_for(request, exc) or _server_error(request, exc)


Kind = Literal["gpu", "apple", "apu", "cpu"]
Fit = Literal["comfortable", "tight", "offload", "none"]


class ApiError(Exception):
    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


def _error(request: HttpRequest, field: str, message: str, status: int = 400) -> HttpResponse:
    return error_response(field, message, status)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return _error(request, exc.field, exc.message, exc.status)


@api.exception_handler(EngineError)
def _engine_error(request: HttpRequest, exc: EngineError) -> HttpResponse:
    return _error(request, exc.field, str(exc))


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [str(part) for part in first.get("loc", []) if part not in ("query", "body", "payload")]
    field = ".".join(loc) or "body"
    return _error(request, field, f"{field}: {first.get('msg', 'invalid value')}")


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _error(request, "body", "request body is too large", status=413)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, "body", str(exc), status=exc.status_code)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, "path", "not found", status=404)


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Anything else is our fault: logged with its traceback, answered in the API's
    shape (never Django's HTML 500 page)."""
    log.error("API error on %s", request.get_full_path(), exc_info=exc)
    return _error(request, "server", "internal error; it has been logged", status=500)


# --- schemas ---------------------------------------------------------------------
# The answers are plain pydantic models: the operations return dicts, so django-ninja's
# Schema (which wraps every nested object to read ORM attributes) would only cost time
# (about 1 ms of a cold estimate); the OpenAPI schema is the same.


class ModelOut(BaseModel):
    slug: str | None
    name: str
    hf_repo: str | None
    family: str | None = None
    architecture: Literal["dense", "moe"]
    model_type: str
    total_params: int
    active_params: int
    context_length: int
    native_context: int | None = None
    native_dtype: str
    default_quant: str | None = None
    llama_cpp_status: str | None = None
    llama_cpp_note: str | None = None


class FileOut(BaseModel):
    repository: str
    quant: str
    path: str
    parts: int
    total_bytes: int | None
    size_precision: str
    commit: str | None
    url: str


class ModelDetailOut(ModelOut):
    release_date: str | None
    summary: str
    source: str
    native_weights_bytes: int
    quants: list[dict[str, Any]]
    files: list[FileOut] = []


class MemoryOut(BaseModel):
    weights_bytes: int
    kv_cache_bytes: int
    compute_buffer_bytes: int
    overhead_bytes: int
    fit_margin_bytes: int
    os_reserve_bytes: int
    total_bytes: int


class SpeedOut(BaseModel):
    hardware: str
    name: str
    kind: str
    memory_gb: float
    bandwidth_gbps: float
    fits: bool
    mode: str
    tokens_per_s: float | None
    tokens_per_s_low: float | None
    tokens_per_s_high: float | None
    gpu_layers: int
    cpu_moe_layers: int
    device_bytes: int
    host_bytes: int
    formula: str
    note: str
    llama_cpp_command: str | None
    fit: Fit
    prefill_tokens_per_s: float | None
    time_to_first_token_s: float | None


class BuildOut(BaseModel):
    name: str
    fit: Fit
    mode: str  # gpu, multi_gpu, unified, cpu, expert_offload, partial_offload, does_not_fit
    tokens_per_s: float | None
    tokens_per_s_low: float | None
    tokens_per_s_high: float | None
    prefill_tokens_per_s: float | None
    time_to_first_token_s: float | None
    gpu_bytes: list[int]
    host_bytes: int
    llama_cpp_command: str | None
    note: str


class EstimateOut(BaseModel):
    model: ModelOut
    quant: str
    context: int
    kv_type: str
    parallel: int
    flash_attention: bool
    memory: MemoryOut
    bits_per_weight: float
    weights_by_type: dict[str, int]
    recommended_ram_gb: int | None
    speeds: list[SpeedOut]
    llama_cpp_command: str
    ollama_num_ctx: int
    notes: list[str]
    file: FileOut | None = None
    build: BuildOut | None = None


# One parameter per calculator option, from the parser's table; text or numbers, parsed
# by calculator.options (absent: the default). The (annotation, Field) pairs are built at
# run time and passed as ``**``, which mypy also matches against create_model's own keyword
# arguments (``__module__: str``...): hence values typed ``Any``.
_OPTION_FIELDS: dict[str, Any] = {
    f.name: (str | int | None, Field(None, description=f.help)) for f in option_table.FIELDS
}
OptionsIn: type[Schema] = create_model("OptionsIn", __base__=Schema, **_OPTION_FIELDS)


# mypy cannot take a class built at run time (a variable) as a base class.
class MachineIn(OptionsIn):  # type: ignore[misc, valid-type]
    flash_attention: bool = True
    hardware: str | None = None
    bandwidth_gbps: float | None = Field(None, gt=0, le=100_000)
    memory_gb: float | None = Field(None, gt=0, le=1_000_000)
    kind: Kind | None = None
    fp16_tflops: float | None = Field(None, gt=0, le=100_000)
    sockets: int | None = Field(None, ge=1, le=2)


# The build a GET asks about: one parameter per field of the parser's build table
# (``gpu`` repeats), parsed by calculator.options like the pages and the CLI.
_BUILD_FIELDS: dict[str, Any] = {
    f.name: (
        (list[str] | None) if f.many else (str | int | None),
        Field(None, description=f.help),
    )
    for f in option_table.BUILD_FIELDS
}
BuildQueryIn: type[MachineIn] = create_model("BuildQueryIn", __base__=MachineIn, **_BUILD_FIELDS)


# As MachineIn: the base is a class built at run time.
class EstimateQuery(BuildQueryIn):  # type: ignore[misc, valid-type]
    model: str = Field(..., min_length=1, max_length=200)


class EstimateBody(MachineIn):
    config: dict[str, Any]
    name: str = Field("Custom model", max_length=200)
    build: dict[str, Any] | None = Field(
        None,
        description='{"host": {"profile", "memory_gb"} | {"kind", "bandwidth_gbps", '
        '"memory_gb", "sockets", "fp16_tflops"}, "gpus": [{"profile", "count"} | '
        '{"bandwidth_gbps", "memory_gb", "fp16_tflops", "count"}]}',
    )


# --- helpers ---------------------------------------------------------------------


def _profiles(params: MachineIn, hardware: services.HardwareSet) -> tuple[hw.HardwareProfile, ...]:
    custom = (params.bandwidth_gbps, params.memory_gb, params.kind)
    if any(v is not None for v in custom):
        missing = [n for n, v in zip(("bandwidth_gbps", "memory_gb", "kind"), custom, strict=True)
                   if v is None]  # fmt: skip
        if missing:
            raise ApiError(missing[0], "a custom machine needs bandwidth_gbps, memory_gb and kind")
        return (
            services.custom_hardware(
                hardware,
                memory_gb=params.memory_gb or 0,
                bandwidth_gbps=params.bandwidth_gbps or 0,
                kind=params.kind or "cpu",
                fp16_tflops=params.fp16_tflops,
                sockets=params.sockets or 1,
            ),
        )
    extras = (("fp16_tflops", params.fp16_tflops), ("sockets", params.sockets))
    given = next((name for name, value in extras if value is not None), None)
    if given:
        raise ApiError(given, f"{given} describes a custom machine: give bandwidth_gbps, "
                       "memory_gb and kind with it")  # fmt: skip
    if params.hardware:
        profile = hardware.get(params.hardware)
        if profile is None:
            raise ApiError("hardware", f"unknown hardware profile '{params.hardware}'")
        return (profile,)
    return hardware.profiles


def _options(params: MachineIn, model: LlmModel | None = None) -> Options:
    """The options asked for, strictly: a bad one raises EngineError (400 naming it).
    Without a quant, a catalog model's own default (MXFP4 for gpt-oss)."""
    default = option_table.DEFAULTS if model is None else model_defaults(model)
    default = replace(default, flash_attention=params.flash_attention)
    return option_table.parse_strict(params.model_dump(), default)


def _build(params: MachineIn, hardware: services.HardwareSet) -> Build | None:
    """The build asked about: POST's ``build`` object (errors name ``build.gpus[0].count``
    ...) or GET's build fields (errors name ``gpu``, ``ram_gb`` ...); None without one."""
    spec = getattr(params, "build", None)
    if isinstance(params, EstimateBody):
        return services.build_from_request(spec, hardware) if spec is not None else None
    query = option_table.parse_strict(
        params.model_dump(), option_table.BUILD_DEFAULTS, option_table.BUILD_NAMES
    )
    return services.build_from_query(query, hardware)


def _run(
    arch: Architecture,
    params: MachineIn,
    options: Options,
    model_out: dict[str, Any],
    published: PublishedWeights | None = None,
    model_file: str = "",
) -> dict[str, Any]:
    hardware = services.hardware_set()
    build = _build(params, hardware)
    profiles = _profiles(params, hardware)
    weights = published.weights if published else None
    est = services.estimate_for(
        arch, options, hardware, profiles, weights=weights, model_file=model_file
    )
    placed = None
    if build is not None:
        placed = services.estimate_on_builds(arch, options, hardware, (build,), weights, model_file)
    return estimate_payload(
        est, model_out, profiles, published, placed.placements[0] if placed else None
    )


# The estimate's query parameters besides the options and the build fields (the cache
# keys on them all: the build fields canonically, every gpu in order).
ESTIMATE_PARAMS = tuple(
    n
    for n in EstimateQuery.model_fields
    if n not in option_table.NAMES and n not in option_table.BUILD_NAMES
)


# --- endpoints -------------------------------------------------------------------


@api.get("/models", response=list[ModelOut], summary="Every model in the catalog")
@decorate_view(cached_page(route="api:list_models"))
def list_models(request: HttpRequest) -> list[dict[str, Any]]:
    return [model_payload(m, services.architecture_of(m)) for m in LlmModel.objects.published()]


@api.get("/models/{slug}", response=ModelDetailOut, summary="One model with its quant ladder")
@decorate_view(cached_page(route="api:get_model"))
def get_model(request: HttpRequest, slug: str) -> dict[str, Any]:
    model = services.find_model(slug)
    if model is None:
        hint = search.did_you_mean(slug, selectors.models())
        raise ApiError("slug", f"unknown model '{slug}'{hint}", status=404)
    arch = services.architecture_of(model)
    quants = []
    for name in PRESETS:
        w = weights_bytes(arch, name)
        quants.append(
            {"quant": name, "weights_bytes": w.total_bytes,
             "bits_per_weight": round(w.bits_per_weight, 3)}
        )  # fmt: skip
    return {
        **model_payload(model, arch),
        "release_date": model.release_date.isoformat() if model.release_date else None,
        "summary": model.summary,
        "source": model.source,
        "native_weights_bytes": native_weights_bytes(arch),
        "quants": quants,
        "files": [file_payload(f) for f in gguf_selectors.model_files(model)],
    }


@api.get("/estimate", response=EstimateOut, summary="Estimate for a catalog model")
@decorate_view(
    cached_page(
        options=option_table.NAMES,
        params=ESTIMATE_PARAMS,
        defaults=defaults_for_api,
        build=True,
        limit=RateLimit("API_RATE_GET"),  # counted on a cache hit too
        route="api:get_estimate",
    )
)
def get_estimate(request: HttpRequest, params: Query[EstimateQuery]) -> dict[str, Any]:
    option_table.parse_strict(params.model_dump())  # bad syntax: 400 before the lookup
    option_table.parse_strict(
        params.model_dump(), option_table.BUILD_DEFAULTS, option_table.BUILD_NAMES
    )
    # A slug or repository id; a model's name or nickname too ("DeepSeek R1", "R1").
    model = services.find_model(params.model) or search.resolve(params.model, selectors.models())
    if model is None:
        hint = search.did_you_mean(params.model, selectors.models())
        raise ApiError(
            "model",
            f"unknown model '{params.model}'{hint}: use a slug from /api/v1/models, or POST "
            "its config.json to /api/v1/estimate",
        )
    options = _options(params, model)
    arch = services.architecture_of(model)
    choice = choose_quant(
        model, arch, options, strict=True, files=gguf_selectors.model_files(model)
    )
    model_out = model_payload(model, arch)
    return _run(arch, params, options, model_out, choice.published, choice.model_file)


@api.post("/estimate", response=EstimateOut, summary="Estimate for any pasted config.json")
@decorate_view(guard("API_RATE_POST", check_body=True))
def post_estimate(request: HttpRequest, payload: EstimateBody) -> dict[str, Any]:
    options = _options(payload)
    too_many = layer_count_over_limit(payload.config)
    if too_many:
        limit = settings.API_MAX_CONFIG_LAYERS
        raise ApiError(too_many, f"{too_many} is larger than any real model (limit {limit})")
    try:
        arch = parse_config(payload.config)
    except EngineError as err:
        field = f"config.{err.field}" if err.field != "config" else "config"
        raise ApiError(field, str(err)) from err
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError) as err:
        # Junk of a type the parser did not expect: still the client's error, never a 500.
        log.info("config.json rejected: %r", err, exc_info=True)
        raise ApiError("config", f"config.json could not be read ({err})") from err
    return _run(arch, payload, options, model_payload(None, arch, payload.name))
