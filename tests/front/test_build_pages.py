"""/builds/ and /builds/<slug>/: the preset builds, and every model's best quant on one
by the engine's one rule (fit.best_quant_on), with its speed, fit, pp512 and first token."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from calculator import services
from calculator.engine.estimate import Options
from calculator.engine.fit import best_quant_on
from calculator.formatting import seconds, tps
from calculator.models import LlmModel

pytestmark = pytest.mark.usefixtures("site_data")

HTMX = {"HTTP_HX_REQUEST": "true"}
RIG = "rtx-4090-epyc-9004-384gb"


def test_the_build_list_names_every_preset_with_what_it_installs(client):
    html = client.get(reverse("calculator:build-list")).content.decode()
    table = html.split('data-testid="build-list"')[1]
    for build in services.preset_builds(services.hardware_set()):
        assert f'href="{reverse("calculator:build-detail", args=[build.slug])}"' in table
    assert "24 GB VRAM + 384 GB RAM" in table
    assert "512 GB unified" in table


def test_the_nav_links_to_the_builds(client):
    html = client.get(reverse("calculator:home")).content.decode()
    assert f'href="{reverse("calculator:build-list")}"' in html


def test_a_build_page_shows_its_parts_and_effective_bandwidth(client):
    build = services.preset_build(RIG, services.hardware_set())
    html = client.get(reverse("calculator:build-detail", args=[RIG])).content.decode()
    parts = html.split('data-testid="build-parts"')[1].split("</dl>")[0]
    assert "NVIDIA GeForce RTX 4090: 24 GB VRAM" in parts
    assert escape(build.host.setup.describe()) in parts
    bandwidth = f"{build.host.profile.bandwidth_gbps:g} GB/s"
    assert bandwidth in parts.split('data-testid="effective-bandwidth"')[1]


def test_every_model_gets_its_best_quant_on_the_build_by_the_one_rule(client):
    hardware = services.hardware_set()
    build = services.preset_build(RIG, hardware)
    html = client.get(reverse("calculator:build-detail", args=[RIG])).content.decode()
    table = html.split('data-testid="models-on-build"')[1].split("</table>")[0]
    models = list(LlmModel.objects.published())
    assert table.count("<tr class=") == len(models)
    r1 = services.find_model("deepseek-r1")
    pick = best_quant_on(services.architecture_of(r1), Options(), build, tuning=hardware.tuning)
    row = table.split(f">{escape(r1.name)}</a>")[1].split("</tr>")[0]
    assert f'data-label="Best quant">{pick.quant}' in row
    assert "Runs with offload" in row and pick.fit == "offload"
    assert f"<strong>{tps(pick.placement.tokens_per_s)}</strong>" in row
    assert f"{pick.placement.prefill_tokens_per_s:.0f}</td>" in row
    assert f"{seconds(pick.placement.time_to_first_token_s)}</td>" in row
    assert escape(pick.placement.llama_cpp_command) in html


def test_models_that_run_come_first_fastest_first(client):
    html = client.get(reverse("calculator:build-detail", args=["dgx-spark"])).content.decode()
    table = html.split('data-testid="models-on-build"')[1].split("</table>")[0]
    rows = table.split("<tr class=")[1:]
    running = [r for r in rows if not r.startswith('"none"')]
    assert running and rows[: len(running)] == running
    speeds = [float(r.split("<strong>")[1].split("<")[0]) for r in running]
    assert speeds == sorted(speeds, reverse=True)


def test_a_model_links_to_its_page_with_this_build_and_quant_picked(client):
    html = client.get(reverse("calculator:build-detail", args=[RIG])).content.decode()
    assert f"/models/deepseek-r1/?build={RIG}&amp;quant=" in html


def test_context_is_in_the_url_and_htmx_gets_the_region(client):
    url = reverse("calculator:build-detail", args=[RIG])
    full = client.get(url, {"context": "32k"}).content.decode()
    part = client.get(url, {"context": "32k"}, **HTMX).content.decode()
    assert full.startswith("<!doctype html>") and 'aria-current="true">32K' in full
    assert part.startswith("<title>") and "<html" not in part
    assert '<section id="result"' in part


def test_an_unknown_build_is_a_404_page(client):
    response = client.get(reverse("calculator:build-detail", args=["no-such-rig"]))
    assert response.status_code == 404
