"""Builds as people describe them: validation that names the field, hosts, device kinds."""

import pytest

from calculator.engine.build import build_from_spec
from calculator.engine.hardware import (
    GIB,
    HardwareProfile,
    apple_gpu_fraction,
    device_kind,
)
from calculator.engine.types import EngineError
from tests.calculator.engine_data import inventory, preset, presets_data

EPYC_768 = {"profile": "sp5-epyc-9004-1p", "memory_gb": 768}


def spec(gpus=(), host=EPYC_768):
    return {"host": host, "gpus": list(gpus)}


def test_memory_alone_picks_the_standard_balanced_population():
    build = build_from_spec(spec([{"profile": "rtx-4090"}]), inventory())
    setup = build.host.setup
    assert (setup.dimms.count, setup.dimms.size_gb) == (12, 64)
    assert build.host.profile.memory_gb == 768
    assert build.host.profile.bandwidth_gbps == pytest.approx(460.8)
    assert build.gpu_count == 1 and build.kind_label == "GPU rig"


def test_explicit_dimms_are_derated_by_the_platform():
    host = {"profile": "am5-ryzen-9000", "dimms": {"count": 4, "size_gb": 48, "mt_s": 6000}}
    build = build_from_spec(spec(host=host), inventory())
    assert build.host.profile.mt_s == 3600
    assert build.host.profile.bandwidth_gbps == pytest.approx(57.6)
    assert build.kind_label == "CPU platform"


def test_mixed_gpus_expand_into_devices_in_order():
    build = build_from_spec(
        spec([{"profile": "rtx-5090"}, {"profile": "rtx-3090", "count": 2}]), inventory()
    )
    assert [d.slug for d in build.devices] == ["rtx-5090", "rtx-3090", "rtx-3090"]
    assert build.vram_gb == 80


@pytest.mark.parametrize(
    "build, field",
    [
        (spec([{"profile": "rtx-3090", "count": 0}]), "build.gpus[0].count"),
        (spec([{"profile": "rtx-3090", "count": 100}]), "build.gpus[0].count"),
        (spec([{"profile": "rtx-3090", "count": 5}, {"profile": "rtx-4090", "count": 4}]),
         "build.gpus"),
        (spec([{"profile": "voodoo-5"}]), "build.gpus[0].profile"),
        (spec([{"profile": "apple-m3-ultra-512"}]), "build.gpus[0].profile"),
        (spec([{"memory_gb": 24}]), "build.gpus[0].bandwidth_gbps"),
        (spec(host={"profile": "no-such-board"}), "build.host.profile"),
        (spec(host={"profile": "sp5-epyc-9004-1p", "memory_gb": 100_000}), "build.host.memory_gb"),
        (spec(host={"profile": "am5-ryzen-9000", "memory_gb": 256}), "build.host.memory_gb"),
        (spec(host={"profile": "am5-ryzen-9000", "dimms": {"count": 6, "size_gb": 32}}),
         "build.host.dimms.count"),
        (spec(host={"profile": "apple-m3-ultra-512", "memory_gb": 200}), "build.host.memory_gb"),
        (spec([{"profile": "rtx-4090"}], host={"profile": "apple-m3-ultra-512"}), "build.gpus"),
        (spec(host={"kind": "cpu", "memory_gb": 64}), "build.host.bandwidth_gbps"),
        (spec(host={"kind": "tpu", "memory_gb": 64, "bandwidth_gbps": 100}), "build.host.kind"),
        ({"gpus": []}, "build.host"),
    ],
)  # fmt: skip
def test_bad_builds_name_the_field(build, field):
    with pytest.raises(EngineError) as err:
        build_from_spec(build, inventory())
    assert err.value.field == field


def test_a_custom_host_and_gpu_carry_their_figures():
    build = build_from_spec(
        {"host": {"kind": "cpu", "bandwidth_gbps": 460.8, "memory_gb": 768, "sockets": 2,
                  "fp16_tflops": 10},
         "gpus": [{"bandwidth_gbps": 1008, "memory_gb": 24, "fp16_tflops": 165, "count": 2}]},
        inventory(),
    )  # fmt: skip
    assert build.host.profile.sockets == 2 and build.host.profile.fp16_tflops == 10
    assert build.gpu_count == 2 and build.devices[0].fp16_tflops == 165


def test_a_mac_is_configured_with_the_memory_apple_sells():
    build = build_from_spec(spec(host={"profile": "apple-m3-ultra-512", "memory_gb": 256}),
                            inventory())  # fmt: skip
    assert build.host.profile.memory_gb == 256 and build.kind_label == "Mac"
    assert "256 GB" in build.host.profile.name


def test_every_preset_build_resolves_and_cites_a_source():
    for entry in presets_data():
        build = preset(entry["slug"])
        assert build.name and entry["sources"] and entry["components"], entry["slug"]


# --- device kinds ---------------------------------------------------------------------------


def profile(kind, memory_gb, fraction=None):
    return HardwareProfile("x", "X", kind, memory_gb, 100, 0.5, gpu_memory_fraction=fraction)


def test_each_kind_decides_the_memory_a_model_may_use():
    assert profile("gpu", 24).model_memory_bytes == 24 * GIB
    assert profile("cpu", 64).model_memory_bytes == 60 * GIB  # less the OS
    assert profile("apu", 128, 0.75).model_memory_bytes == 96 * GIB
    assert device_kind("gpu").accelerator and not device_kind("apple").accelerator


def test_macs_give_the_gpu_two_thirds_when_small_and_more_when_large():
    assert apple_gpu_fraction(16) == pytest.approx(2 / 3)
    assert apple_gpu_fraction(36) == pytest.approx(2 / 3)
    assert apple_gpu_fraction(96) == 0.75
    assert apple_gpu_fraction(512) > 0.8
    mac = profile("apple", 32)
    assert mac.model_memory_bytes == int(32 * GIB * 2 / 3)
    assert "iogpu.wired_limit_mb=" in mac.device.stretch_tip(mac, 26 * GIB)


def test_an_unknown_kind_is_an_error_naming_kind():
    with pytest.raises(EngineError) as err:
        device_kind("fpga")
    assert err.value.field == "kind"
