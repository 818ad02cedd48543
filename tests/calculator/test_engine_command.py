"""The llama-server line names the GGUF to load: the published file when the estimate
has one (its repository path, the first part of a split file), a placeholder otherwise
(plain engine, no database)."""

from dataclasses import replace

from calculator.engine import quant
from calculator.engine.architecture import parse_config
from calculator.engine.estimate import Options, estimate, footprint, speed_command
from calculator.engine.hardware import HardwareProfile
from tests.calculator.builders import deepseek_r1_config, llama3_8b_config

R1 = parse_config(deepseek_r1_config())
LLAMA = parse_config(llama3_8b_config())
GPU = HardwareProfile("gpu", "gpu", "gpu", 24.0, 1000.0, 0.5)
SERVER = HardwareProfile("epyc", "epyc", "cpu", 768.0, 460.8, 0.5, tier="server")
SPLIT = "DeepSeek-R1-UD-IQ1_S/DeepSeek-R1-UD-IQ1_S-00001-of-00003.gguf"


def ud_iq1_s() -> quant.WeightsBreakdown:
    """A published 131 GB file of R1, as the catalog hands it to the engine."""
    predicted = quant.weights_bytes(R1, "IQ1_S")
    return replace(quant.scaled_breakdown(predicted, 131_000_000_000, "UD-IQ1_S"), file=SPLIT)


def test_without_a_published_file_the_command_names_a_placeholder_for_the_quant():
    est = estimate(LLAMA, Options(quant="Q4_K_M"))
    assert "-m model-Q4_K_M.gguf " in est.llama_cpp_command


def test_a_published_file_is_loaded_by_its_first_part_in_every_command():
    options = Options(quant="UD-IQ1_S", context=8192)
    est = estimate(R1, options, [GPU, SERVER], weights=ud_iq1_s())
    assert est.footprint.model_file == SPLIT
    assert f"-m {SPLIT} " in est.llama_cpp_command
    planned = [s for s in est.speeds if s.llama_cpp_command]
    assert planned  # the server runs it, the 24 GB GPU offloads experts to the host
    assert all(f"-m {SPLIT} " in speed_command(options, s) for s in planned)
    assert all("model-UD-IQ1_S.gguf" not in s.llama_cpp_command for s in planned)


def test_a_listed_file_can_be_named_for_a_preset_whose_weights_stay_predicted():
    path = "Meta-Llama-3-8B-Instruct-Q4_K_M.gguf"
    options = Options(quant="Q4_K_M")
    predicted = footprint(LLAMA, options)[2]
    named = footprint(LLAMA, options, model_file=path)[2]
    assert named.weights_bytes == predicted.weights_bytes
    est = estimate(LLAMA, options, [GPU], model_file=path)
    assert f"-m {path} " in est.llama_cpp_command
    assert f"-m {path} " in speed_command(options, est.speeds[0])


def test_a_prediction_names_no_file():
    assert quant.weights_bytes(LLAMA, "Q4_K_M").file == ""
