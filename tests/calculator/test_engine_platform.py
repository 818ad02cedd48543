"""DIMM population rules: derating, channels, sockets, the RAM to buy (no database)."""

from dataclasses import replace

import pytest

from calculator.engine.platform import (
    Dimms,
    Platform,
    SpeedRule,
    interleaved_channels,
    populate,
    standard_dimms,
)
from calculator.engine.types import EngineError
from tests.calculator.engine_data import inventory


def server(sockets=1, numa=1.0, **kw):
    """A 12-channel, 2-DPC server: 4800 MT/s with one DIMM per channel, 4400 with two."""
    return replace(SERVER, sockets=sockets, numa_speedup=numa, **kw)


SERVER = Platform(
    slug="srv", name="Server", cpu_family="X", tier="server", sockets=1, channels=12,
    slots_per_channel=2, ddr="DDR5", dimm_types=("RDIMM",), max_dimm_gb=256,
    speeds=(SpeedRule(1, 8, 4800), SpeedRule(2, 8, 4400)), dimm_sizes_gb=(32, 64, 128),
)  # fmt: skip


def test_one_dimm_per_channel_reads_at_the_rated_speed_on_every_channel():
    setup = populate(server(), Dimms(12, 64, mt_s=4800))
    assert setup.mt_s == 4800 and setup.channels_filled == 12 and setup.balanced
    assert setup.effective_gbps == pytest.approx(12 * 4800 * 8 / 1000)


def test_two_dimms_per_channel_run_at_the_platform_limit_whatever_the_label():
    setup = populate(server(), Dimms(24, 64, mt_s=5600))
    assert setup.mt_s == 4400
    assert any("4400 MT/s" in w for w in setup.warnings)


def test_slower_dimms_than_the_platform_allows_run_at_their_rating():
    assert populate(server(), Dimms(12, 64, mt_s=4000)).mt_s == 4000


def test_empty_channels_lower_bandwidth_and_say_so():
    setup = populate(server(), Dimms(8, 64))
    assert setup.effective_gbps == pytest.approx(8 * 4800 * 8 / 1000)
    assert any("8 of 12" in w for w in setup.warnings)


def test_sixteen_dimms_on_twelve_channels_read_like_eight_channels_at_the_2dpc_speed():
    setup = populate(server(), Dimms(16, 64))
    assert not setup.balanced and setup.dimms_per_channel == 2 and setup.mt_s == 4400
    assert setup.effective_gbps == pytest.approx(8 * 4400 * 8 / 1000)
    assert any("unequal" in w for w in setup.warnings)


def test_interleaving_counts_dimms_over_regions():
    assert interleaved_channels([2] * 12) == 12
    assert interleaved_channels([2] * 4 + [1] * 8) == 8
    assert interleaved_channels([1] * 6 + [0] * 6) == 6


def test_two_sockets_add_capacity_but_decode_sees_one_socket_by_default():
    one, two = populate(server(), Dimms(12, 64)), populate(server(2), Dimms(24, 64))
    assert two.capacity_gb == 2 * one.capacity_gb
    assert two.effective_gbps == pytest.approx(one.effective_gbps)
    assert two.theoretical_gbps == pytest.approx(2 * one.theoretical_gbps)
    assert any("--numa distribute" in n for n in two.notes)


def test_a_measured_numa_speedup_scales_the_second_socket():
    two = populate(server(2, numa=1.5), Dimms(24, 64))
    assert two.effective_gbps == pytest.approx(1.5 * 12 * 4800 * 8 / 1000)


@pytest.mark.parametrize(
    "dimms, field",
    [(Dimms(25, 64), "host.dimms.count"), (Dimms(12, 512), "host.dimms.size_gb"),
     (Dimms(0, 64), "host.dimms.count"), (Dimms(12, 64, dimm_type="UDIMM"), "host.dimms.type")],
)  # fmt: skip
def test_populations_the_platform_cannot_take_name_the_field(dimms, field):
    with pytest.raises(EngineError) as err:
        populate(server(), dimms, field_prefix="host.dimms")
    assert err.value.field == field


def test_a_dpc_without_a_published_speed_is_not_modelled():
    one_dpc_only = server(speeds=(SpeedRule(1, 8, 4800),))
    assert one_dpc_only.slots == 12
    with pytest.raises(EngineError):
        populate(one_dpc_only, Dimms(16, 64))


def test_the_ram_to_buy_fills_every_channel_alike_one_per_channel_first():
    assert standard_dimms(server(), 768) == Dimms(12, 64)
    assert standard_dimms(server(), 700) == Dimms(12, 64)
    assert standard_dimms(server(), 2048) == Dimms(24, 128)
    assert standard_dimms(server(2), 768) == Dimms(24, 32)
    with pytest.raises(EngineError) as err:
        standard_dimms(server(), 10_000, field="build.host.memory_gb")
    assert err.value.field == "build.host.memory_gb"


# --- the reviewed platforms -------------------------------------------------------------


def test_ryzen_9000_runs_four_dimms_at_3600_as_amd_specifies():
    am5 = inventory().platforms["am5-ryzen-9000"]
    two = populate(am5, Dimms(2, 48, mt_s=6000))
    four = populate(am5, Dimms(4, 48, mt_s=6000))
    assert (two.mt_s, four.mt_s) == (5600, 3600)
    assert four.effective_gbps < two.effective_gbps
    with pytest.raises(EngineError):
        populate(am5, Dimms(4, 64))  # AMD's 192 GB maximum


def test_arrow_lake_cudimms_reach_6400_only_on_two_slot_boards():
    platforms = inventory().platforms
    cudimm = Dimms(2, 48, mt_s=6400, dimm_type="CUDIMM")
    assert populate(platforms["lga1851-core-ultra-200s-2slot"], cudimm).mt_s == 6400
    assert populate(platforms["lga1851-core-ultra-200s"], cudimm).mt_s == 5600


def test_768_gb_on_a_12_channel_epyc_is_twelve_64_gb_rdimms():
    genoa = inventory().platforms["sp5-epyc-9004-1p"]
    setup = populate(genoa, standard_dimms(genoa, 768))
    assert setup.dimms.count == 12 and setup.dimms.size_gb == 64
    assert setup.effective_gbps == pytest.approx(460.8)


def test_every_platform_states_where_its_speeds_come_from():
    for platform in inventory().platforms.values():
        sources = dict(platform.sources)
        assert any("speeds" in key for key in sources), platform.slug
        assert all(v.startswith(("http", "github:")) or "http" in v for v in sources.values())
