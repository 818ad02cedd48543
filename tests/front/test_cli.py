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
