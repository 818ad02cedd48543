"""Kit picks and the speed table agree: a kit row is the engine's placement on the build
the kit makes, the same function and coefficients as the preset builds' rows."""

from dataclasses import replace
from io import StringIO

import pytest
from django.core.management import call_command

from calculator import selectors as calculator_selectors
from calculator import services
from calculator.engine.build import build_from_spec
from calculator.engine.placement import place
from catalog.gguf_selectors import model_files
from catalog.models import MemoryKit
from catalog.selectors import kit_fits
from front.presenters.files import choose_quant, model_defaults
from front.presenters.kits import kit_build, kit_picks, models_on_kit
from front.presenters.model_page import calculation


@pytest.fixture
def kits(site_data):
    call_command("seed_catalog", stdout=StringIO())


def default_calculation(model, hardware):
    """The model page's calculation at its default options (as the view computes it)."""
    arch = services.architecture_of(model)
    files = model_files(model)
    choice = choose_quant(model, arch, model_defaults(model), strict=False, files=files)
    return calculation(model, choice.options, hardware, choice.weights, choice.notes)


def equivalent_build(fit, inventory):
    """The kit's machine written as the API's build spec, resolved independently."""
    dimms = fit.dimms
    spec = {
        "host": {
            "profile": fit.platform.slug,
            "dimms": {"count": dimms.count, "size_gb": dimms.size_gb, "mt_s": dimms.mt_s,
                      "ranks": dimms.ranks, "type": dimms.dimm_type},
        }
    }  # fmt: skip
    return build_from_spec(spec, inventory)


def test_every_kit_row_on_every_model_page_is_the_placement_of_its_build(kits):
    hardware = services.hardware_set()
    inventory = services.inventory(hardware)
    checked = 0
    for model in calculator_selectors.models():
        calc = default_calculation(model, hardware)
        for group in kit_picks(calc.estimate, hardware):
            for row in group.rows:
                build = equivalent_build(row.pick.fit, inventory)
                expected = place(build, calc.estimate.footprint, calc.options, hardware.tuning)
                assert row.tokens_per_s == expected.tokens_per_s, (model.slug, row.pick.kit.slug)
                assert row.placement.mode == expected.mode
                checked += 1
    assert checked > 100


def preset_platform_builds(hardware):
    """Preset builds that are a CPU platform with DIMMs and no GPU."""
    return [b for b in services.preset_builds(hardware) if b.host.setup and not b.gpus]


def kits_matching(build):
    """Catalog kits whose build on the preset's platform has the preset's DIMMs."""
    setup = build.host.setup
    for kit in MemoryKit.objects.active():
        for fit in kit_fits(kit, [setup.platform]):
            if (fit.dimms.count, fit.dimms.size_gb, fit.mt_s) == (
                setup.dimms.count, setup.dimms.size_gb, setup.mt_s,
            ):  # fmt: skip
                yield fit


def test_a_kit_that_makes_a_preset_machine_shows_the_preset_rows_speed(kits):
    hardware = services.hardware_set()
    pairs = [(b, fit) for b in preset_platform_builds(hardware) for fit in kits_matching(b)]
    assert pairs, "the catalog has a kit for at least one preset machine"
    for model in calculator_selectors.models():
        calc = default_calculation(model, hardware)
        fp, options = calc.estimate.footprint, calc.options
        for preset, fit in pairs:
            table_row = place(preset, fp, options, hardware.tuning)
            kit_row = place(kit_build(fit, hardware), fp, options, hardware.tuning)
            assert kit_row.tokens_per_s == table_row.tokens_per_s, (model.slug, preset.slug)
            assert kit_row.host_bytes == table_row.host_bytes


def test_r1_kit_rows_include_a_12_channel_genoa_set_at_its_platform_speed(client, kits):
    hardware = services.hardware_set()
    r1 = services.find_model("deepseek-r1")
    groups = {
        g.platform.key: g for g in kit_picks(default_calculation(r1, hardware).estimate, hardware)
    }
    genoa = groups["sp5-epyc-9004-1p"]
    assert all(row.pick.channels == 12 and row.pick.speed_mts <= 4800 for row in genoa.rows)
    assert all(row.pick.kit.ddr_generation == "DDR5" for g in groups.values()
               for row in g.rows if g.platform.platform.ddr == "DDR5")  # fmt: skip


def test_the_kit_page_places_models_on_the_kits_build(kits):
    kit = MemoryKit.objects.filter(module_count=12, module_size_gb=64, is_active=True).first()
    assert kit is not None
    hardware = services.hardware_set()
    model = services.find_model("qwen3-235b-a22b") or calculator_selectors.models()[0]
    on_kit = models_on_kit(kit, [model])
    [run] = on_kit.runs
    assert run.quant is not None
    build = kit_build(on_kit.fit, hardware)
    arch = services.architecture_of(model)
    sized = replace(on_kit.options, quant=run.quant)
    expected = services.estimate_on_builds(arch, sized, hardware, builds=[build]).placements[0]
    assert run.speed.tokens_per_s == expected.tokens_per_s
