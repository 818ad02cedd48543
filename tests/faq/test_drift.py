from faq.builders import Figure
from faq.drift import drift, parse_quantities


def test_parses_numbers_with_units():
    stated = parse_quantities("512 GB (404 GB weights), 1.3 TB, 37B active, 160K, 8,192 tokens")
    assert [(s.dimension, s.value) for s in stated] == [
        ("GB", 512.0), ("GB", 404.0), ("GB", 1300.0), ("params", 37e9),
        ("tokens", 163840.0), ("tokens", 8192.0),
    ]  # fmt: skip


def test_ignores_quant_names_and_memory_speeds():
    assert parse_quantities("Q4_K_M on DDR5-5600 with IQ2_XXS") == []


FIGURES = (
    Figure("recommended_ram_gb", 512, "512 GB", quant="Q4_K_M", context=8192),
    Figure("weights_bytes", 404_488_847_360, "404 GB", quant="Q4_K_M"),
    Figure("active_params", 37_552_297_472, "37.6B"),
    Figure("context", 8192, "8K", context=8192),
)


def test_numbers_that_round_to_engine_figures_do_not_drift():
    assert drift("Plan for 512 GB; weights about 400 GB; 37B active at 8K.", FIGURES) == []


def test_numbers_that_disagree_with_the_engine_drift():
    problems = drift("R1 needs 1024 GB; weights are 377.4 GB; 671B dense", FIGURES)
    assert [p.stated for p in problems] == ["1024 GB", "377.4 GB", "671B"]
    assert "the engine says 512 GB" in str(problems[0])
    assert "404 GB" in str(problems[1])


def test_a_unit_with_no_engine_figure_drifts():
    assert [p.stated for p in drift("about 5 tok/s", FIGURES)] == ["5 tok/s"]
