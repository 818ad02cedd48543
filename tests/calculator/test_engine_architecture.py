import pytest

from calculator.engine.architecture import parse_config
from calculator.engine.types import EngineError
from tests.calculator.builders import deepseek_r1_config, llama3_8b_config


def test_llama3_8b_parameter_count_matches_published_safetensors_total():
    # 8,030,261,248 parameters: the safetensors total of Meta-Llama-3-8B on huggingface.co
    assert parse_config(llama3_8b_config()).total_params == 8_030_261_248


def test_tied_embeddings_drop_the_output_tensor():
    untied = parse_config(llama3_8b_config())
    tied = parse_config(llama3_8b_config(tie_word_embeddings=True))
    assert untied.total_params - tied.total_params == 128256 * 4096
    assert not any(t.name == "output.weight" for t in tied.tensors)


def test_deepseek_r1_is_moe_with_about_671b_total_and_37b_active():
    arch = parse_config(deepseek_r1_config())
    assert arch.is_moe
    # DeepSeek-V3 technical report: 671B total, 37B activated per token (MTP module excluded)
    assert arch.total_params == pytest.approx(671e9, rel=0.005)
    assert arch.active_params == pytest.approx(37e9, rel=0.03)


def test_deepseek_dense_first_layers_have_no_experts():
    arch = parse_config(deepseek_r1_config())
    expert_layers = {t.layer for t in arch.tensors if t.is_expert}
    assert min(expert_layers) == 3
    assert arch.n_moe_layers == 58


def test_kimi_model_type_is_sized_as_deepseek_v3_architecture():
    arch = parse_config(deepseek_r1_config(model_type="kimi_k2"))
    assert arch.gguf_arch == "deepseek2"
    assert arch.model_type == "kimi_k2"


def test_unknown_model_type_names_the_field_and_lists_supported_types():
    with pytest.raises(EngineError) as err:
        parse_config({"model_type": "rwkv7"})
    assert err.value.field == "model_type"
    assert "rwkv7" in str(err.value) and "llama" in str(err.value)


def test_missing_field_is_named_not_guessed():
    config = llama3_8b_config()
    del config["intermediate_size"]
    with pytest.raises(EngineError) as err:
        parse_config(config)
    assert err.value.field == "intermediate_size"


@pytest.mark.parametrize("bad", [-4096, "4096", 40.5, True])
def test_non_integer_or_negative_sizes_are_rejected(bad):
    with pytest.raises(EngineError):
        parse_config(llama3_8b_config(hidden_size=bad))


def test_absurd_sizes_are_rejected_before_any_work():
    with pytest.raises(EngineError) as err:
        parse_config(llama3_8b_config(num_hidden_layers=100_000))
    assert err.value.field == "num_hidden_layers"


def test_more_experts_per_token_than_experts_is_rejected():
    with pytest.raises(EngineError) as err:
        parse_config(llama3_8b_config(model_type="mixtral", num_local_experts=8,
                                      num_experts_per_tok=9))  # fmt: skip
    assert err.value.field == "num_experts_per_tok"
