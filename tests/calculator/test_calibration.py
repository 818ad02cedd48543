"""The coefficients in hardware.json are what calibrate_speed fits to the 'fit' rows
(so a reviewer can re-derive every figure, and no held-out row slipped into a fit)."""

import json

import pytest

from calculator import calibration, validation
from tests.calculator.engine_data import DATA, inventory, model

HARDWARE = json.loads((DATA / "hardware.json").read_text())
MODELS = sorted(p.stem for p in (DATA / "models").glob("*.json"))


@pytest.fixture(scope="module")
def archs():
    return {slug: model(slug) for slug in MODELS}


def test_decode_efficiencies_are_the_fit_of_their_fit_rows(archs):
    profiles = {p["slug"]: p for p in HARDWARE["profiles"]}
    penalty = HARDWARE["efficiency"]["moe_penalty"]["eta"]
    fits = calibration.fit(calibration.points(archs, profiles), penalty)
    assert fits
    for f in fits:
        stored = HARDWARE["efficiency"][f.efficiency_class]
        assert (stored["eta"], stored["overhead_ms"]) == (f.eta, f.overhead_ms)
        assert f.held_out > 0


def test_the_multi_gpu_overhead_is_the_fit_of_its_fit_rows(archs):
    fit = calibration.fit_extra_gpu_ms(archs, inventory())
    assert HARDWARE["efficiency"]["multi_gpu"]["overhead_ms"] == fit.value
    assert fit.rows >= 10 and fit.held_out >= 10


def test_the_pcie_copy_efficiency_is_the_fit_of_its_fit_rows(archs):
    fit = calibration.fit_link_efficiency(archs, inventory())
    assert HARDWARE["efficiency"]["pcie"]["eta"] == fit.value
    assert fit.rows >= 3 and fit.held_out >= 3


def test_the_ik_llama_cpp_engine_is_the_fit_of_its_own_rows(archs):
    fit = calibration.fit_engine(archs, inventory(), "ik_llama.cpp")
    assert HARDWARE["engines"]["ik_llama.cpp"]["host_moe_factor"] == fit.value
    assert fit.rows >= 5 and fit.held_out >= 5


def test_prompt_efficiencies_are_the_fit_of_their_fit_rows(archs):
    classes = {p["slug"]: p.get("prefill_class") or p["efficiency_class"]
               for p in HARDWARE["profiles"]}  # fmt: skip
    fit = calibration.fit_prefill(archs, inventory().profiles, classes)
    assert {k: v["eta"] for k, v in HARDWARE["prefill"].items()} == fit.class_eta
    stored = {p["slug"]: p["prefill_tflops"] for p in HARDWARE["profiles"]
              if p.get("prefill_tflops")}  # fmt: skip
    assert stored == fit.measured_tflops
    routing = {k: v["us_per_token_layer"] for k, v in HARDWARE["prefill_moe"].items()}
    assert routing == fit.moe_us
    assert fit.moe_rows["cuda"] >= 3 and fit.moe_us["cuda"] > fit.moe_us["metal"]


def test_every_fit_row_is_marked_and_check_rows_never_enter_a_fit():
    for name in ("decode_speeds.csv", "build_speeds.csv", "prefill_speeds.csv"):
        uses = {r.get("use", "") for r in validation.read_reference(name)
                if validation.included(r)}  # fmt: skip
        assert uses <= {"fit", "check"}, name
