"""The one options parser: what users type, canonical echoes, lenient and strict modes."""

import pytest
from django.http import QueryDict

from calculator import options
from calculator.engine.estimate import MAX_CONTEXT, MAX_PARALLEL, Options
from calculator.engine.kv_cache import KV_TYPES
from calculator.engine.quant import PRESETS
from calculator.engine.types import EngineError
from calculator.options import DEFAULTS, Problem, canonical_query, parse_lenient, parse_strict


@pytest.mark.parametrize(
    ("typed", "tokens"),
    [
        ("8192", 8192),
        ("32k", 32768),
        ("128K", 131072),
        ("1M", 1048576),
        ("32,768", 32768),
        (" 16 k ", 16384),
        ("32_768", 32768),
        (4096, 4096),
    ],
)
def test_context_accepts_what_people_type(typed, tokens):
    assert parse_strict({"context": typed}).context == tokens


@pytest.mark.parametrize(
    "typed", ["abc", "-5", "0", "8 kb", "1.5k", "99999999999K", True, "x" * 50]
)
def test_bad_context_is_an_engine_error_naming_the_field(typed):
    with pytest.raises(EngineError) as err:
        parse_strict({"context": typed})
    assert err.value.field == "context"


def test_context_is_bounded_by_the_engine():
    assert parse_strict({"context": MAX_CONTEXT}).context == MAX_CONTEXT
    with pytest.raises(EngineError, match="between 1 and"):
        parse_strict({"context": MAX_CONTEXT + 1})


@pytest.mark.parametrize(("typed", "canonical"), [("q4_k_m", "Q4_K_M"), (" iq2_xxs ", "IQ2_XXS")])
def test_quant_is_case_insensitive_and_echoed_canonically(typed, canonical):
    assert parse_strict({"quant": typed}).quant == canonical


def test_every_engine_preset_is_a_valid_quant():
    assert all(parse_strict({"quant": name.lower()}).quant == name for name in PRESETS)


def test_unknown_quant_is_refused_by_the_engine():
    with pytest.raises(EngineError) as err:
        parse_strict({"quant": "Q9_X"})
    assert err.value.field == "quant"


def test_kv_type_and_parallel_come_from_the_engine_bounds():
    assert parse_strict({"kv_type": "Q8_0"}).kv_type == "q8_0"
    assert set(options.BY_NAME["kv_type"].help.split(": ")[1].split(", ")) == set(KV_TYPES)
    assert parse_strict({"parallel": "4"}).parallel == 4
    for bad in ("0", str(MAX_PARALLEL + 1), "two"):
        with pytest.raises(EngineError) as err:
            parse_strict({"parallel": bad})
        assert err.value.field == "parallel"


def test_blank_and_missing_values_mean_the_default():
    assert parse_strict({"quant": "", "context": None, "kv_type": "  "}) == DEFAULTS
    assert parse_lenient(QueryDict("quant=&context=")) == (DEFAULTS, ())


def test_lenient_mode_keeps_each_bad_field_at_its_default_and_reports_it():
    parsed, problems = parse_lenient(QueryDict("quant=q8_0&context=abc&kv_type=q3"))
    assert parsed == Options(quant="Q8_0")
    assert [p.field for p in problems] == ["context", "kv_type"]
    assert all(isinstance(p, Problem) and str(p) == p.message for p in problems)


def test_strict_mode_raises_at_the_first_bad_field_in_table_order():
    with pytest.raises(EngineError) as err:
        parse_strict({"parallel": "0", "context": "abc"})
    assert err.value.field == "context"


def test_rules_across_fields_are_the_engines():
    no_flash = Options(flash_attention=False)
    with pytest.raises(EngineError) as err:
        parse_strict({"kv_type": "q8_0"}, no_flash)
    assert err.value.field == "kv_type"
    parsed, problems = parse_lenient({"kv_type": "q8_0"}, no_flash)
    assert parsed == no_flash and [p.field for p in problems] == ["kv_type"]


def test_only_the_fields_asked_for_are_read():
    assert parse_strict({"quant": "Q8_0", "context": "32k"}, fields=("context",)) == Options(
        context=32768
    )


def test_canonical_query_is_fixed_order_canonical_and_leaves_defaults_out():
    a = parse_strict({"parallel": "2", "context": "32k", "quant": "q8_0"})
    b = parse_strict({"quant": "Q8_0", "context": "32,768", "parallel": 2, "kv_type": "F16"})
    assert canonical_query(a) == canonical_query(b) == "quant=Q8_0&context=32768&parallel=2"
    assert canonical_query(DEFAULTS) == ""
    assert parse_strict(QueryDict(canonical_query(a))) == a


def test_the_option_names_are_the_table_and_the_engine_options():
    assert options.NAMES == ("quant", "context", "kv_type", "parallel")
    assert all(hasattr(DEFAULTS, name) for name in options.NAMES)


# --- the build a visitor picks (BUILD_FIELDS) -------------------------------------------


def _build_query(text: str) -> options.BuildQuery:
    return parse_strict(QueryDict(text), options.BUILD_DEFAULTS, options.BUILD_NAMES)


def test_gpus_are_repeatable_with_an_optional_count():
    picked = _build_query("gpu=RTX-3090:2&gpu=rtx-4090&host=sp5-epyc-9004-1p&ram_gb=384")
    assert picked.gpu == (options.GpuPick("rtx-3090", 2), options.GpuPick("rtx-4090", 1))
    assert (picked.host, picked.ram_gb) == ("sp5-epyc-9004-1p", 384)


@pytest.mark.parametrize(
    "typed", ["gpu=rtx-3090:0", "gpu=rtx-3090:100", "gpu=rtx-3090:5&gpu=rtx-4090:4", "gpu=a_b"]
)
def test_bad_gpu_counts_and_slugs_name_the_gpu_field(typed):
    with pytest.raises(EngineError) as err:
        _build_query(typed)
    assert err.value.field == "gpu"


@pytest.mark.parametrize(
    "typed,field",
    [
        ("ram_gb=0", "ram_gb"),
        ("dimms=lots", "dimms"),
        ("host=../x", "host"),
        ("build=a%20b", "build"),
    ],
)
def test_bad_build_fields_name_themselves(typed, field):
    with pytest.raises(EngineError) as err:
        _build_query(typed)
    assert err.value.field == field


def test_build_query_is_canonical_in_table_order_and_keeps_gpu_order():
    picked = _build_query("gpu=rtx-4090:1&ram_gb=0384&gpu=RTX-3090:2&host=SP5-epyc-9004-1p")
    assert canonical_query(picked, options.BUILD_DEFAULTS, options.BUILD_NAMES) == (
        "host=sp5-epyc-9004-1p&ram_gb=384&gpu=rtx-4090&gpu=rtx-3090%3A2"
    )


def test_no_build_fields_is_no_build():
    assert not _build_query("quant=Q8_0&utm_source=x").given
    assert _build_query("build=dgx-spark").given
