"""Commands load the real published file: a selected file's weights carry its repository
path (the first part of a split file), and a model's listed release is found by label."""

from calculator import services
from calculator.engine.estimate import Options
from calculator.models import LlmModel
from catalog.gguf_selectors import file_path, file_weights, resolve_quant
from catalog.gguf_snapshot import gguf_snapshot_load
from catalog.models import GgufFile

R1_IQ1_S = "DeepSeek-R1-UD-IQ1_S/DeepSeek-R1-UD-IQ1_S-00001-of-00003.gguf"


def test_a_selected_file_is_what_every_command_loads(site_data):
    gguf_snapshot_load()
    r1 = LlmModel.objects.get(slug="deepseek-r1")
    arch = services.architecture_of(r1)
    published = resolve_quant(r1, arch, "UD-IQ1_S")
    assert published is not None and published.weights.file == R1_IQ1_S
    options = Options(quant="UD-IQ1_S", context=8192)
    est = services.estimate_for(arch, options, services.hardware_set(), weights=published.weights)
    assert f"-m {R1_IQ1_S} " in est.llama_cpp_command
    assert all(f"-m {R1_IQ1_S} " in s.llama_cpp_command for s in est.speeds if s.llama_cpp_command)


def test_file_weights_name_the_files_first_part(site_data):
    gguf_snapshot_load()
    gguf = GgufFile.objects.get(repository__repo_id="unsloth/DeepSeek-R1-GGUF", label="Q2_K")
    arch = services.architecture_of(gguf.repository.model)
    assert file_weights(arch, gguf).weights.file == gguf.path
    assert gguf.path.endswith("-00001-of-00005.gguf")


def test_a_release_or_preset_the_repositories_list_is_found_by_label(site_data):
    gguf_snapshot_load()
    gpt_oss = LlmModel.objects.get(slug="gpt-oss-120b")
    assert file_path(gpt_oss, "mxfp4") == "gpt-oss-120b-mxfp4-00001-of-00003.gguf"
    assert file_path(gpt_oss, "Q8_0") == ""  # not listed: the command keeps its placeholder
