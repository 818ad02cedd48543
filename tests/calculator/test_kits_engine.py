"""Which kits a platform takes and the speed the population runs at (no database)."""

from dataclasses import replace

import pytest

from calculator.engine.kits import KitSpec, kit_fit, kits_to_fill
from calculator.engine.platform import Platform, SpeedRule
from tests.calculator.engine_data import inventory

SERVER = Platform(
    slug="srv", name="Server", cpu_family="X", tier="server", sockets=1, channels=12,
    slots_per_channel=2, ddr="DDR5", dimm_types=("RDIMM", "3DS"), max_dimm_gb=256,
    speeds=(SpeedRule(1, 8, 4800), SpeedRule(2, 2, 4400), SpeedRule(2, 8, 4000)),
    dimm_sizes_gb=(32, 64, 128),
)  # fmt: skip
DESKTOP = Platform(
    slug="desk", name="Desktop", cpu_family="Y", tier="desktop", sockets=1, channels=2,
    slots_per_channel=2, ddr="DDR5", dimm_types=("UDIMM",), max_dimm_gb=None,
    speeds=(SpeedRule(1, 2, 5600), SpeedRule(2, 2, 3600)), dimm_sizes_gb=(16, 32, 48),
)  # fmt: skip


def rdimm(count, size, mt_s=4800, ranks=2, ddr="DDR5", kind="RDIMM"):
    return KitSpec(ddr=ddr, dimm_type=kind, count=count, size_gb=size, mt_s=mt_s, ranks=ranks)


def test_a_twelve_dimm_kit_fills_twelve_channels_at_one_dimm_per_channel():
    fit = kit_fit(SERVER, rdimm(12, 64))
    assert fit.ok and fit.kits == 1 and fit.capacity_gb == 768
    assert fit.setup.balanced and fit.setup.channels_filled == 12
    assert fit.mt_s == 4800 and fit.dimms_per_channel == 1


def test_a_kit_never_runs_above_its_rating():
    assert kit_fit(SERVER, rdimm(12, 64, mt_s=4400)).mt_s == 4400


def test_faster_dimms_run_at_the_platform_speed():
    assert kit_fit(SERVER, rdimm(12, 64, mt_s=6400)).mt_s == 4800


def test_sixteen_dimms_on_twelve_channels_are_refused_as_unbalanced():
    fit = kit_fit(SERVER, rdimm(16, 64))
    assert not fit.ok and "cannot fill 12 channels alike" in fit.reason


def test_eight_dimms_on_twelve_channels_take_three_kits_and_two_per_channel():
    fit = kit_fit(SERVER, rdimm(8, 32))
    assert fit.ok and fit.kits == 3 and fit.dimms.count == 24
    assert fit.dimms_per_channel == 2 and fit.mt_s == 4400


def test_two_dimms_per_channel_speed_depends_on_ranks():
    assert kit_fit(SERVER, rdimm(24, 128, ranks=4)).mt_s == 4000
    assert kit_fit(SERVER, rdimm(24, 64, ranks=2)).mt_s == 4400


def test_a_small_kit_is_bought_as_many_times_as_the_channels_need():
    fit = kit_fit(SERVER, rdimm(4, 32))
    assert fit.ok and fit.kits == 3 and fit.capacity_gb == 384


def test_a_kit_larger_than_the_slots_is_refused():
    assert kits_to_fill(DESKTOP, 8) is None
    assert not kit_fit(DESKTOP, rdimm(8, 16, kind="UDIMM")).ok


def test_the_wrong_ddr_generation_is_refused():
    fit = kit_fit(SERVER, rdimm(12, 64, mt_s=3200, ddr="DDR4"))
    assert not fit.ok and "takes DDR5, not DDR4" in fit.reason


@pytest.mark.parametrize("kind", ["UDIMM", "SODIMM", "LRDIMM"])
def test_a_dimm_type_the_platform_does_not_name_is_refused(kind):
    fit = kit_fit(SERVER, rdimm(12, 64, kind=kind))
    assert not fit.ok and kind in fit.reason


def test_unbuffered_kits_do_not_fit_a_server_and_registered_kits_do_not_fit_a_desktop():
    assert not kit_fit(SERVER, rdimm(2, 48, kind="UDIMM")).ok
    assert not kit_fit(DESKTOP, rdimm(2, 48)).ok


def test_modules_larger_than_the_platform_takes_are_refused():
    fit = kit_fit(replace(SERVER, max_dimm_gb=128), rdimm(12, 256, ranks=8))
    assert not fit.ok and "at most 128 GB" in fit.reason


def test_a_desktop_four_dimm_kit_runs_at_the_two_per_channel_speed():
    fit = kit_fit(DESKTOP, rdimm(4, 48, mt_s=6000, kind="UDIMM"))
    assert fit.ok and fit.kits == 1 and fit.mt_s == 3600
    two = kit_fit(DESKTOP, rdimm(2, 48, mt_s=6000, kind="UDIMM"))
    assert two.mt_s == 5600


def test_unstated_ranks_are_modelled_as_dual_rank_and_said():
    fit = kit_fit(SERVER, rdimm(12, 64, ranks=None))
    assert fit.ok and any("ranks not stated" in c for c in fit.caveats)


def test_a_platform_without_published_types_takes_its_tiers_family_with_a_caveat():
    open_server = replace(SERVER, dimm_types=())
    fit = kit_fit(open_server, rdimm(12, 64))
    assert fit.ok and any("not published" in c for c in fit.caveats)
    assert not kit_fit(open_server, rdimm(12, 64, kind="UDIMM")).ok


def test_a_two_socket_platform_needs_every_channel_of_both_sockets():
    dual = replace(SERVER, sockets=2)
    fit = kit_fit(dual, rdimm(12, 64))
    assert fit.ok and fit.kits == 2 and fit.dimms.count == 24 and fit.setup.channels_filled == 24


def test_reviewed_platforms_take_the_kits_people_buy_for_them():
    platforms = inventory().platforms
    genoa = platforms["sp5-epyc-9004-1p"]
    assert kit_fit(genoa, rdimm(12, 64)).ok
    assert kit_fit(genoa, rdimm(12, 96)).ok
    assert not kit_fit(genoa, rdimm(16, 64)).ok
    am5 = platforms["am5-ryzen-9000"]
    assert kit_fit(am5, rdimm(2, 48, mt_s=6000, kind="UDIMM")).mt_s == 5600
    assert not kit_fit(am5, rdimm(8, 64, mt_s=4800)).ok
    rome = platforms["sp3-epyc-7002-7003-1p"]
    assert kit_fit(rome, rdimm(8, 64, mt_s=3200, ddr="DDR4", kind="LRDIMM")).ok
    assert not kit_fit(rome, rdimm(8, 64, mt_s=4800)).ok
