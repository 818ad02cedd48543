"""Every FAQ figure is the engine's own figure for the same inputs, for every model."""

import re

import pytest

from calculator import services
from calculator.engine import context
from calculator.engine.estimate import Options
from calculator.engine.fit import best_quant_on
from calculator.engine.quant import native_weights_bytes, weights_bytes
from calculator.formatting import gb, params, tps
from calculator.models import LlmModel
from calculator.options import DEFAULTS
from faq import builders
from faq.builders import INPUT_METRICS, OUTPUT_METRICS, Figure
from front.presenters.model_page import calculation


def engine_value(arch, hardware, fig: Figure):
    """The engine's answer for a figure's inputs, computed here independently."""
    metric = fig.metric
    if metric == "total_params":
        return arch.total_params
    if metric == "active_params":
        return arch.active_params
    if metric == "context_length":  # the documented context, rope scaling included
        return context.limits(arch).extended
    if metric == "native_bytes":
        return native_weights_bytes(arch)
    if metric == "weights_bytes":
        return weights_bytes(arch, fig.quant).total_bytes
    if metric == "best_quant":  # the one rule, on a CPU machine with that much RAM
        machine = services.ram_machine(fig.budget_gb, hardware)
        pick = best_quant_on(arch, Options(context=fig.context), machine, tuning=hardware.tuning)
        return pick.quant if pick else None
    options = Options(
        quant=fig.quant or Options().quant, context=fig.context, kv_type=fig.kv_type or "f16"
    )
    est = services.estimate_for(arch, options, hardware)
    if metric == "total_bytes":
        return est.memory.total_bytes
    if metric == "recommended_ram_gb":
        return est.recommended_ram_gb
    if metric == "kv_bytes":
        return est.kv.total_bytes
    if metric == "tokens_per_s":
        return next(s.tokens_per_s for s in est.speeds if s.hardware.slug == fig.hardware)
    raise AssertionError(f"no engine check for {metric}")


def printed(metric, value):
    """How the calculator page prints that value (its own template filters)."""
    if metric in ("native_bytes", "weights_bytes", "total_bytes", "kv_bytes"):
        return gb(value)
    if metric in ("total_params", "active_params"):
        return params(value)
    if metric == "recommended_ram_gb":
        return builders.ram_text(value)
    if metric == "tokens_per_s":
        return tps(value)
    if metric == "best_quant":
        return value or "nothing"
    return None


def test_every_answer_figure_equals_the_engine_for_every_model_in_the_catalog(hardware):
    models = list(LlmModel.objects.published())
    assert len(models) >= 40  # the whole catalog, not a sample
    problems, checked = [], 0
    for model in models:
        arch = services.architecture_of(model)
        for qa in builders.generated_faq(model, hardware):
            assert qa.figures, f"{model.slug} {qa.key} states no figures"
            for fig in qa.figures:
                assert fig.metric in OUTPUT_METRICS + INPUT_METRICS
                if fig.text not in qa.answer + qa.question:
                    problems.append(f"{model.slug} {qa.key}: {fig.text!r} not in the answer")
                if fig.is_input:
                    continue
                expected = engine_value(arch, hardware, fig)
                checked += 1
                if fig.value != expected:
                    problems.append(f"{model.slug} {qa.key} {fig}: engine says {expected}")
                shown = printed(fig.metric, expected)
                if shown is not None and fig.text != shown:
                    problems.append(f"{model.slug} {qa.key}: prints {fig.text!r}, not {shown!r}")
    assert not problems, "\n".join(problems[:30])
    assert checked > 40 * 30


def test_every_model_gets_every_question(hardware):
    keys = [k for k, _ in builders.MODEL_KEYS]
    for model in LlmModel.objects.published():
        faq = builders.generated_faq(model, hardware)
        assert [qa.key for qa in faq] == keys
        assert all(model.name in qa.question for qa in faq)


MOE_CLAIMS = re.compile(r"Mixture-of-Experts|\bMoE\b|routed experts|active for each token")
DENSE_CLAIMS = re.compile(r"is a dense model|parameters are used for every token|\bDense\b")


def test_no_model_faq_contradicts_its_architecture(hardware):
    for model in LlmModel.objects.published():
        answers = " ".join(qa.answer for qa in builders.generated_faq(model, hardware))
        if model.architecture == LlmModel.MOE:
            assert "Mixture-of-Experts (MoE) model" in answers, model.slug
            assert not DENSE_CLAIMS.search(answers), (model.slug, DENSE_CLAIMS.search(answers))
        else:
            assert "is a dense model" in answers, model.slug
            assert not MOE_CLAIMS.search(answers), (model.slug, MOE_CLAIMS.search(answers))


def _answer(faq, key):
    return next(qa for qa in faq if qa.key == key)


def test_r1_faq_says_mixture_of_experts_with_about_37b_active(r1, hardware):
    faq = builders.generated_faq(r1, hardware)
    text = _answer(faq, "architecture").answer
    assert "Mixture-of-Experts" in text
    # 36.6B: DeepSeek's README_WEIGHTS count (the input embedding table excluded)
    assert re.search(r"about 36\.6B are active", text)
    assert "dense" not in text.lower().split("than a dense model")[0]


def test_r1_faq_explains_why_the_native_release_is_fp8(r1, hardware):
    qa = _answer(builders.generated_faq(r1, hardware), "native")
    assert "FP8" in qa.question
    assert "native precision is FP8, not FP16" in qa.answer
    assert "trained" in qa.answer and "FP8 mixed precision" in qa.answer
    native = next(f for f in qa.figures if f.metric == "native_bytes")
    assert native.value == native_weights_bytes(services.architecture_of(r1))


def test_r1_ram_answer_matches_the_calculator_above_it(r1, hardware):
    calc = calculation(r1, DEFAULTS, hardware)
    qa = _answer(builders.generated_faq(r1, hardware), "ram")
    assert f"Plan for {calc.estimate.recommended_ram_gb} GB" in qa.answer
    assert f"{gb(calc.estimate.memory.weights_bytes)} of weights" in qa.answer
    assert f"{gb(calc.estimate.memory.total_bytes)} in total" in qa.answer


def test_r1_answers_the_reference_pages_four_questions(r1, hardware):
    faq = builders.generated_faq(r1, hardware)
    questions = " ".join(qa.question for qa in faq)
    assert "How much RAM does DeepSeek R1 need?" in questions
    assert "dense or Mixture-of-Experts" in questions
    assert "context length" in questions
    native = _answer(faq, "native").answer
    assert "FP16" in native and "BF16" in native
    context = _answer(faq, "context")
    kv8 = next(f for f in context.figures if f.metric == "kv_bytes" and f.context == 8192)
    assert (
        kv8.value
        == services.estimate_for(
            services.architecture_of(r1), Options(context=8192), hardware
        ).kv.total_bytes
    )
    assert "Multi-head Latent Attention" in context.answer


def test_context_answer_covers_8k_32k_and_the_maximum(hardware):
    model = services.find_model("llama-3.1-8b-instruct")
    qa = _answer(builders.generated_faq(model, hardware), "context")
    contexts = {f.context for f in qa.figures if f.metric == "kv_bytes"}
    assert contexts == {8192, 32768, model.context_length}


def test_short_context_models_are_not_sized_beyond_their_window(hardware):
    model = services.find_model("llama-2-7b-hf")
    for qa in builders.generated_faq(model, hardware):
        for fig in qa.figures:
            assert fig.context is None or fig.context <= model.context_length, (qa.key, fig)


def test_fits_answer_names_every_budget(r1, hardware):
    qa = _answer(builders.generated_faq(r1, hardware), "fits")
    budgets = [f.budget_gb for f in qa.figures if f.metric == "best_quant"]
    assert budgets == list(builders.FIT_BUDGETS_GB)


def test_kv_quant_answer_shows_q8_and_q4_savings(hardware):
    model = services.find_model("llama-3.1-8b-instruct")
    qa = _answer(builders.generated_faq(model, hardware), "kv-quant")
    sizes = {
        f.kv_type: f.value for f in qa.figures if f.metric == "kv_bytes" and f.context == 32768
    }
    assert sizes["q4_0"] < sizes["q8_0"] < sizes["f16"]


def test_gpt_oss_native_answer_is_mxfp4(hardware):
    model = services.find_model("gpt-oss-20b")
    qa = _answer(builders.generated_faq(model, hardware), "native")
    assert "MXFP4" in qa.question and "MXFP4_MOE" in qa.answer


def test_general_faq_states_no_model_figures():
    for qa in builders.general_faq():
        assert qa.figures == ()
        assert not re.search(r"\d+(\.\d+)?\s*(GB|B\b|tok)", qa.answer)


@pytest.mark.parametrize("key", ["quantization", "kv-cache", "bandwidth", "memory-types"])
def test_general_faq_covers_the_basics(key):
    assert key in {qa.key for qa in builders.general_faq()}


def test_qwen3_full_context_is_the_documented_131072_with_the_yarn_flags(hardware):
    model = services.find_model("qwen3-30b-a3b")
    qa = _answer(builders.generated_faq(model, hardware), "context")
    full = next(f for f in qa.figures if f.metric == "context_length")
    assert full.value == 131072  # the model card's YaRN context, not the config's 40,960
    assert "131,072 tokens" in qa.answer
    assert "32,768 tokens natively" in qa.answer
    assert "--rope-scaling yarn --rope-scale 4 --yarn-orig-ctx 32768" in qa.answer
