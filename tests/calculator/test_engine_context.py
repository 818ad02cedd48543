"""Long context as shipped: native, documented extension and the llama.cpp flags."""

import pytest

from calculator.engine import context
from calculator.engine.architecture import parse_config
from calculator.engine.types import EngineError
from tests.calculator.builders import llama3_8b_config

QWEN3_CARD = {"native": 32768, "extended": 131072, "method": "yarn", "factor": 4,
              "source": "https://huggingface.co/Qwen/Qwen3-8B"}  # fmt: skip


def qwen3_8b(**kw):
    return llama3_8b_config(model_type="qwen3", max_position_embeddings=40960,
                            vocab_size=151936, num_hidden_layers=36, **kw)  # fmt: skip


def test_without_documentation_the_config_context_is_native_and_needs_no_flag():
    arch = parse_config(qwen3_8b())
    assert context.limits(arch).native == context.limits(arch).extended == 40960
    assert context.rope_flags(arch, 40960) == ()


def test_qwen3_runs_32k_natively_and_131k_with_yarn_flags():
    arch = context.with_documented(parse_config(qwen3_8b()), QWEN3_CARD)
    assert (context.limits(arch).native, context.limits(arch).extended) == (32768, 131072)
    assert context.rope_flags(arch, 32768) == ()
    assert context.rope_flags(arch, 65536) == (
        "--rope-scaling", "yarn", "--rope-scale", "4", "--yarn-orig-ctx", "32768",
    )  # fmt: skip
    assert not context.beyond_documented(arch, 131072)
    assert context.beyond_documented(arch, 131073)


def test_rope_scaling_in_the_config_is_baked_into_the_gguf_so_needs_no_flag():
    rope = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192, "rope_type": "llama3"}  # fmt: skip
    arch = parse_config(llama3_8b_config(max_position_embeddings=131072, rope_scaling=rope))
    assert arch.rope_scaling is not None and arch.rope_scaling.method == "llama3"
    assert arch.rope_scaling.original_context == 8192
    assert context.rope_flags(arch, 131072) == ()


@pytest.mark.parametrize(
    "bad",
    [
        {**QWEN3_CARD, "method": "ntk"},
        {**QWEN3_CARD, "factor": 0.5},
        {**QWEN3_CARD, "extended": 10**9},
        {**QWEN3_CARD, "extended": 1000},
        {**QWEN3_CARD, "source": "internal notes"},
        "131072",
    ],
)
def test_a_bad_long_context_entry_names_the_field(bad):
    with pytest.raises(EngineError) as err:
        context.with_documented(parse_config(qwen3_8b()), bad)
    assert err.value.field == "long_context"
