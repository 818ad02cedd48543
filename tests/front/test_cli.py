import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def run(*args):
    out = StringIO()
    call_command("estimate", *args, stdout=out)
    return out.getvalue()


def test_cli_json_is_the_api_payload(catalog, client):
    printed = json.loads(run("deepseek-r1", "--quant", "Q4_K_M", "--context", "8192", "--json"))
    served = client.get("/api/v1/estimate", {"model": "deepseek-r1"}).json()
    assert printed == served


def test_cli_text_names_moe_and_the_ram_to_buy(catalog):
    text = run("deepseek-r1")
    assert "Mixture-of-Experts" in text
    assert "RAM to buy: 512 GB" in text


def test_cli_unknown_model_is_a_command_error(catalog):
    with pytest.raises(CommandError):
        run("no-such-model")


def test_cli_bad_context_names_the_field(catalog):
    with pytest.raises(CommandError, match="context"):
        run("deepseek-r1", "--context", "0")


def test_cli_reads_options_like_the_pages_and_the_api(catalog):
    text = run("deepseek-r1", "--quant", "q4_k_m", "--context", "32k", "--kv-type", "Q8_0")
    assert "at Q4_K_M, 32,768 tokens, KV q8_0" in text
    assert "model-Q4_K_M.gguf" in text


def test_cli_bad_quant_names_the_field(catalog):
    with pytest.raises(CommandError, match="^quant: "):
        run("deepseek-r1", "--quant", "Q9_X")


def test_cli_build_flags_answer_like_the_api(catalog, client):
    args = ["--host", "sp5-epyc-9004-1p", "--ram-gb", "768", "--gpu", "rtx-3090:2"]
    printed = json.loads(run("deepseek-r1", *args, "--json"))
    served = client.get(
        "/api/v1/estimate?model=deepseek-r1&host=sp5-epyc-9004-1p&ram_gb=768&gpu=rtx-3090:2"
    ).json()
    assert printed["build"] == served["build"]
    assert printed["build"]["fit"] == "offload"


def test_cli_gpu_repeats_and_a_preset_is_named_by_build(catalog):
    two = json.loads(run("llama-3.1-8b-instruct", "--gpu", "rtx-3090", "--gpu", "rtx-4090",
                         "--ram-gb", "64", "--json"))  # fmt: skip
    assert len(two["build"]["gpu_bytes"]) == 2
    text = run("deepseek-r1", "--build", "mac-studio-m3-ultra-512gb")
    assert "Your build: Mac Studio M3 Ultra, 512 GB" in text
    assert "comfortable, unified" in text


@pytest.mark.parametrize(
    "args,field",
    [(["--gpu", "rtx-3090:100"], "gpu"), (["--build", "nope"], "build"),
     (["--host", "am5-ryzen-9000", "--ram-gb", "4096"], "ram_gb")],
)  # fmt: skip
def test_cli_bad_build_is_a_command_error_naming_the_field(catalog, args, field):
    with pytest.raises(CommandError, match=f"^{field}: "):
        run("deepseek-r1", *args)
