"""Property-based tests (hypothesis) of the engine and the JSON API, and a sweep of the
one rule for "fits" and "best quant".

For any valid config and inputs: memory is positive, grows with context and with
bits per weight, and the API answers 200. For any junk: a 4xx in the documented
error format, never a 500.

For every catalog model, every preset build and a few contexts: the model page's speed
table, the "your build" answer, the build page, the FAQ, the hardware pages and the API
say the same fit and pick the same best quant (none of them may contradict another).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from calculator import services
from calculator.engine.architecture import parse_config
from calculator.engine.estimate import MAX_CONTEXT, Options, estimate
from calculator.engine.fit import FLOAT, LEGACY
from calculator.engine.kv_cache import KV_TYPES
from calculator.engine.quant import PRESETS
from calculator.models import LlmModel
from faq import builders
from front.payloads import build_payload, estimate_payload, model_payload
from front.presenters.builds import models_on_build, speed_table
from front.presenters.lists import runs_in_budget, runs_on_profile
from front.presenters.model_page import LADDER_MACHINES_GB, ladder_rows

ESTIMATE = "/api/v1/estimate"
LADDER = ("Q2_K", "Q4_K_M", "Q8_0", "F16")  # strictly more bits per weight, left to right
KV_OK = ("f16", "bf16", "f32", "q8_0", "q4_0")

FAST = settings(max_examples=60, deadline=None)
DB = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- strategies ------------------------------------------------------------------------


@st.composite
def dense_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A small llama-like dense model (llama, mistral, qwen2 shapes)."""
    n_head = draw(st.sampled_from([4, 8, 16, 32]))
    head_dim = draw(st.sampled_from([64, 128]))
    n_head_kv = draw(st.sampled_from([d for d in (1, 2, 4, 8, 16, 32) if n_head % d == 0]))
    return {
        "model_type": draw(st.sampled_from(["llama", "mistral", "qwen2"])),
        "hidden_size": n_head * head_dim,
        "intermediate_size": 256 * draw(st.integers(1, 48)),
        "num_hidden_layers": draw(st.integers(1, 40)),
        "num_attention_heads": n_head,
        "num_key_value_heads": n_head_kv,
        "vocab_size": 256 * draw(st.integers(4, 600)),
        "max_position_embeddings": draw(st.sampled_from([2048, 4096, 8192, 32768, 131072])),
        "tie_word_embeddings": draw(st.booleans()),
        "torch_dtype": "bfloat16",
    }


@st.composite
def moe_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A small Mixtral-shaped mixture of experts."""
    config = draw(dense_configs())
    n_expert = draw(st.integers(2, 16))
    config.update(
        model_type="mixtral",
        num_local_experts=n_expert,
        num_experts_per_tok=draw(st.integers(1, min(4, n_expert))),
    )
    return config


configs = st.one_of(dense_configs(), moe_configs())
contexts = st.integers(1, 262_144)


def _total(config: dict[str, Any], **options: Any) -> int:
    return estimate(parse_config(config), Options(**options)).memory.total_bytes


# --- engine -------------------------------------------------------------------------------


@FAST
@given(config=configs, quant=st.sampled_from(LADDER), context=contexts, kv=st.sampled_from(KV_OK))
def test_every_part_of_memory_is_positive(config, quant, context, kv):
    est = estimate(parse_config(config), Options(quant=quant, context=context, kv_type=kv))
    mem = est.memory
    assert mem.weights_bytes > 0
    assert mem.kv_cache_bytes > 0
    assert mem.compute_buffer_bytes > 0
    assert mem.total_bytes > mem.weights_bytes
    assert est.recommended_ram_gb is None or est.recommended_ram_gb * 1e9 >= mem.total_bytes / 2


@FAST
@given(config=configs, quant=st.sampled_from(LADDER), a=contexts, b=contexts)
def test_memory_never_shrinks_when_context_grows(config, quant, a, b):
    low, high = sorted((a, b))
    arch = parse_config(config)
    small = estimate(arch, Options(quant=quant, context=low)).memory
    large = estimate(arch, Options(quant=quant, context=high)).memory
    assert small.kv_cache_bytes <= large.kv_cache_bytes
    assert small.total_bytes <= large.total_bytes
    assert small.weights_bytes == large.weights_bytes


@FAST
@given(config=configs, context=contexts)
def test_memory_grows_with_bits_per_weight(config, context):
    arch = parse_config(config)
    ests = [estimate(arch, Options(quant=q, context=context)) for q in LADDER]
    weights = [e.memory.weights_bytes for e in ests]
    totals = [e.memory.total_bytes for e in ests]
    assert weights == sorted(set(weights)), dict(zip(LADDER, weights, strict=True))
    assert totals == sorted(set(totals))
    bits = [e.weights.bits_per_weight for e in ests]
    assert bits == sorted(set(bits))


@FAST
@given(config=configs, quant=st.sampled_from(LADDER), context=contexts)
def test_a_quantized_kv_cache_is_never_larger(config, quant, context):
    arch = parse_config(config)
    f16 = estimate(arch, Options(quant=quant, context=context, kv_type="f16")).memory
    q8 = estimate(arch, Options(quant=quant, context=context, kv_type="q8_0")).memory
    assert q8.kv_cache_bytes <= f16.kv_cache_bytes


# --- API ------------------------------------------------------------------------------------


@pytest.fixture
def api(site_data, settings):
    settings.RATELIMIT_ENABLE = False  # hundreds of requests from one address
    return Client()


def _is_error(response) -> bool:
    body = response.json()
    return set(body) == {"error"} and set(body["error"]) == {"field", "message"}


SLUGS = ["deepseek-r1", "llama-3.1-8b-instruct", "qwen3-30b-a3b", "gpt-oss-20b", "gemma-2-9b-it"]
junk_text = st.text(max_size=30)
query_values = {
    "model": st.one_of(st.sampled_from(SLUGS), junk_text),
    "quant": st.one_of(st.sampled_from(list(PRESETS)), junk_text),
    "context": st.one_of(st.integers(-10, 2 * MAX_CONTEXT).map(str), junk_text),
    "kv_type": st.one_of(st.sampled_from(list(KV_TYPES)), junk_text),
    "parallel": st.one_of(st.integers(-2, 300).map(str), junk_text),
    "flash_attention": st.sampled_from(["true", "false", "1", "0", "maybe", ""]),
    "hardware": st.one_of(st.sampled_from(["rtx-4090", "apple-m4-max-40c"]), junk_text),
    "bandwidth_gbps": st.one_of(st.floats(-1, 2e5).map(str), junk_text),
    "memory_gb": st.one_of(st.floats(-1, 2e6).map(str), junk_text),
    "kind": st.one_of(st.sampled_from(["gpu", "apple", "apu", "cpu"]), junk_text),
}
queries = st.fixed_dictionaries(
    {"model": query_values["model"]},
    optional={k: v for k, v in query_values.items() if k != "model"},
)


@DB
@given(params=queries)
def test_get_estimate_never_answers_500(api, params):
    response = api.get(ESTIMATE, params)
    assert response.status_code in (200, 400, 404), response.content[:300]
    if response.status_code != 200:
        assert _is_error(response)


@DB
@given(
    config=configs,
    quant=st.sampled_from(LADDER),
    context=st.integers(1, 131_072),
    kv=st.sampled_from(KV_OK),
)
def test_any_valid_config_posted_is_estimated(api, config, quant, context, kv):
    body = {"config": config, "quant": quant, "context": context, "kv_type": kv}
    response = api.post(ESTIMATE, json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content[:300]
    memory = response.json()["memory"]
    assert memory["total_bytes"] == _total(config, quant=quant, context=context, kv_type=kv)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | junk_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(junk_text, children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def junk_configs(draw: st.DrawFn) -> Any:
    """A valid config with one field replaced by junk, or junk outright."""
    if draw(st.booleans()):
        return draw(json_values)
    config = draw(configs)
    key = draw(st.sampled_from(sorted(config)))
    config[key] = draw(json_values)
    return config


@DB
@given(
    config=junk_configs(),
    extra=st.dictionaries(st.sampled_from(list(query_values)), json_values, max_size=3),
)
def test_junk_json_bodies_are_a_4xx_never_a_500(api, config, extra):
    body = {"config": config, **extra}
    response = api.post(ESTIMATE, json.dumps(body), content_type="application/json")
    assert response.status_code != 500
    if response.status_code != 200:
        assert 400 <= response.status_code < 500, response.content[:300]
        assert _is_error(response)


@DB
@given(raw=st.binary(max_size=200) | json_values.map(json.dumps))
def test_junk_raw_bodies_are_a_4xx(api, raw):
    try:
        decoded = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        decoded = None
    assume(not (isinstance(decoded, dict) and isinstance(decoded.get("config"), dict)))
    response = api.post(ESTIMATE, raw, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content[:300]
    assert _is_error(response)


# --- one rule for "fits" and "best quant": every model x preset build x context -------------

SWEEP_CONTEXTS = (4096, 32768)


@pytest.fixture(scope="session")
def sweep(_site_data_once, django_db_blocker):
    """The catalog, the preset builds and each model's architecture, read once."""
    with django_db_blocker.unblock():
        hardware = services.hardware_set()
        models = [(m, services.architecture_of(m)) for m in LlmModel.objects.published()]
        builds = services.preset_builds(hardware)
        faqs = {m.slug: builders.generated_faq(m, hardware) for m, _ in models}
    return hardware, models, builds, faqs


def _api_fit(arch, options, build, hardware) -> str:
    """What ``POST /api/v1/estimate`` with this build answers (the API's own path)."""
    placed = services.estimate_on_builds(arch, options, hardware, (build,)).placements[0]
    return build_payload(placed)["fit"]


def test_page_your_build_and_api_say_the_same_fit_on_every_preset(sweep, db):
    hardware, models, builds, _ = sweep
    disagree, checked = [], 0
    for context in SWEEP_CONTEXTS:
        options = Options(context=context)
        for model, arch in models:
            table = speed_table(arch, options, hardware)
            page = {r.build.slug: r.fit for r in (*table.running, *table.cannot)}
            assert set(page) == {b.slug for b in builds}
            # the verdict names only builds the table shows as comfortable
            for option in table.verdict.options:
                assert page[option.placement.build.slug] == "comfortable"
            for build in builds[::3]:  # every third preset through the API's own path
                api = _api_fit(arch, options, build, hardware)
                mine = speed_table(arch, options, hardware, chosen=build).mine
                checked += 1
                if not page[build.slug] == api == mine.fit:
                    disagree.append((model.slug, build.slug, context, page[build.slug], api))
    assert checked > 100
    assert not disagree, disagree[:10]


def test_build_pages_pick_the_one_best_quant_and_the_table_agrees_with_it(sweep, db):
    hardware, models, builds, _ = sweep
    options = Options(context=SWEEP_CONTEXTS[0])
    problems = []
    for build in builds:
        rows = models_on_build([m for m, _ in models], build, hardware, options)
        for row, (_, arch) in zip(
            sorted(rows, key=lambda r: r.model.slug),
            sorted(models, key=lambda ma: ma[0].slug),
            strict=True,
        ):
            pick = row.pick
            if pick is None:
                continue
            if pick.quant in FLOAT:
                problems.append((row.model.slug, build.slug, "float", pick.quant))
            if pick.quant in LEGACY:
                problems.append((row.model.slug, build.slug, "legacy", pick.quant))
            if "MXFP4" in pick.quant and arch.native_dtype.lower() != "mxfp4":
                problems.append((row.model.slug, build.slug, "mxfp4", pick.quant))
            # the model page at that quant shows this build with the fit the pick claims,
            # and so does the API
            at = Options(quant=pick.quant, context=options.context)
            table = speed_table(arch, at, hardware)
            shown = next(r.fit for r in (*table.running, *table.cannot) if r.build == build)
            api = _api_fit(arch, at, build, hardware)
            if not pick.fit == shown == api:
                problems.append((row.model.slug, build.slug, pick.quant, pick.fit, shown, api))
    assert not problems, problems[:10]


def test_faq_ladder_stars_and_hardware_pages_pick_the_same_quant_for_a_ram_size(sweep, db):
    hardware, models, _, faqs = sweep
    problems, checked = [], 0
    for model, arch in models:
        fits = next(qa for qa in faqs[model.slug] if qa.key == "fits")
        for fig in (f for f in fits.figures if f.metric == "best_quant"):
            if fig.budget_gb not in LADDER_MACHINES_GB:
                continue
            options = Options(context=fig.context)
            column = LADDER_MACHINES_GB.index(fig.budget_gb)
            starred = [r.quant for r in ladder_rows(arch, options, hardware=hardware)
                       if r.best_for[column]]  # fmt: skip
            machine = services.custom_hardware(
                hardware, memory_gb=fig.budget_gb, bandwidth_gbps=89.6, kind="cpu"
            )
            (listed,) = runs_in_budget([model], machine, hardware, options)
            checked += 1
            if [fig.value] != (starred or [None]) or listed.quant != fig.value:
                problems.append((model.slug, fig.budget_gb, fig.value, starred, listed.quant))
    assert checked > 100
    assert not problems, problems[:10]


def test_hardware_pages_and_the_api_speeds_agree_on_the_best_quant_and_its_fit(sweep, db):
    hardware, models, _, _ = sweep
    options = Options(context=SWEEP_CONTEXTS[0])
    problems, checked = [], 0
    for profile in hardware.profiles[::4]:
        rows = runs_on_profile([m for m, _ in models], profile, hardware, options)
        for row in rows:
            pick = services.best_quant_for(
                row.arch, options, services.profile_build(profile, hardware), hardware
            )
            assert row.quant == (pick.quant if pick else None), (row.model.slug, profile.slug)
            if pick is None:
                continue
            at = Options(quant=pick.quant, context=options.context)
            est = services.estimate_for(row.arch, at, hardware, (profile,))
            (speed,) = estimate_payload(est, model_payload(row.model, row.arch), (profile,))[
                "speeds"
            ]
            checked += 1
            if speed["fit"] != pick.fit or speed["fits"] != (pick.fit == "comfortable"):
                problems.append((row.model.slug, profile.slug, pick.quant, pick.fit, speed["fit"]))
    assert checked > 200
    assert not problems, problems[:10]


def test_the_faq_names_the_verdict_the_model_page_shows(sweep, db):
    hardware, models, _, faqs = sweep
    for model, arch in models:
        if arch.llama_cpp_status != "supported":
            continue
        options = Options(context=builders._context_for(arch))
        headline = speed_table(arch, options, hardware).verdict.headline
        answer = next(qa for qa in faqs[model.slug] if qa.key == "hardware").answer
        assert headline in answer, model.slug
