"""/methodology/: fitted and held-out rows reported apart, with the suite's own figures."""

from __future__ import annotations

import html
import re

import pytest

from calculator import selectors, services, validation
from calculator.calibration import OFFLOAD_HELD_OUT_XFAIL
from calculator.models import LlmModel
from front.presenters.methodology import FITTED, HELD_OUT, REPORTED, validation_report

# group -> the bound tests/calculator/test_validation.py asserts on its held-out rows
SUITE_BOUNDS = {"single": 0.30, "multi_gpu": 0.30, "offload": 0.30, "offload_ik": 0.30,
                "prefill": 0.35}  # fmt: skip


@pytest.fixture
def page(client, site_data):
    response = client.get("/methodology/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def suite_rows(site_data):
    """The rows exactly as test_validation builds them."""
    hardware = services.hardware_set()
    archs = {m.slug: services.architecture_of(m) for m in LlmModel.objects.all()}
    profiles = {p.slug: p for p in hardware.profiles}
    return validation.all_rows(archs, profiles, moe_penalty=hardware.moe_penalty)


def _summary(page: str, key: str) -> str:
    match = re.search(rf'<tbody id="summary-{key}">(.*?)</tbody>', page, re.S)
    assert match, key
    return match.group(1)


@pytest.mark.parametrize("group", sorted(SUITE_BOUNDS))
def test_held_out_figures_are_the_suites(site_data, suite_rows, page, group):
    report = validation_report(selectors.models(), services.hardware_set())
    section = report.section(group)
    assert section is not None and section.figure.bound == SUITE_BOUNDS[group]
    suite = validation.held_out_accuracy(suite_rows, group, SUITE_BOUNDS[group])
    assert (section.held_out.within, section.held_out.rows) == (suite.within, suite.rows)
    assert f"{suite.within}/{suite.rows}" in _summary(page, group)


def test_summary_sets_fitted_beside_held_out_for_every_figure(page):
    for key in ("file_size", "params", "kv_cache", "single", "multi_gpu", "offload",
                "sockets", "prefill", "offload_ik", "memory_bandwidth"):  # fmt: skip
        body = _summary(page, key)
        assert f'<th scope="row" data-label="Role">{FITTED}</th>' in body, key
        assert f'<th scope="row" data-label="Role">{HELD_OUT}</th>' in body, key


def test_speed_groups_have_both_fitted_and_held_out_rows(site_data):
    report = validation_report(selectors.models(), services.hardware_set())
    for key in ("single", "multi_gpu", "prefill", "offload_ik"):
        section = report.section(key)
        assert section is not None
        assert section.fitted.rows and section.held_out.rows, key


def test_every_detail_row_is_labelled(page, suite_rows):
    roles = re.findall(r'<td data-label="Role">([^<]*)</td>', page)
    assert len(roles) == len(suite_rows)
    assert set(roles) <= {FITTED, HELD_OUT, REPORTED}
    assert roles.count(FITTED) == sum(r.use == FITTED for r in suite_rows)


def test_the_offload_bound_is_shown_as_the_suites_expected_failure(page):
    text = html.unescape(page)
    assert OFFLOAD_HELD_OUT_XFAIL in text
    assert "not met" in _summary(page, "offload")


def test_stale_prose_is_gone_and_the_builds_are_explained(page):
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    for stale in ("extra measured penalty", "MoE penalty", "38 profiles", "profiles with "
                  "theoretical bandwidth", "the whole model on the GPU if it fits"):  # fmt: skip
        assert stale not in text, stale
    for topic in ("-ts", "-ot exps=CPU", "--n-cpu-moe", "DIMMs per channel", "--numa",
                  "pp512", "time to first token", "PCIe", "ik_llama.cpp", "comfortable",
                  "tight", "legacy type"):  # fmt: skip
        assert topic in text, topic


def test_numbers_in_the_prose_come_from_the_engine(page, site_data):
    hardware = services.hardware_set()
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert f"plus {hardware.extra_gpu_ms:g} ms per token for each GPU after the first" in text
    assert f"at {round(hardware.link_efficiency * 100)}% of the card's link" in text
    assert f"at {hardware.moe_penalty * 100:.1f}% of its class's dense efficiency" in text


def test_tables_have_captions_and_scoped_headers(page):
    tables = re.findall(r"<table.*?</table>", page, re.S)
    assert len(tables) >= 12
    for table in tables:
        assert "<caption" in table
        assert re.search(r"<th(?=[\s>])(?![^>]*scope=)", table) is None
