"""Page forms render the options; the shared parser reads them."""

from calculator import options
from calculator.options import DEFAULTS, Options
from front import forms


def test_the_calculator_form_has_one_control_per_option_in_the_parsers_order():
    assert tuple(forms.EstimateForm.base_fields) == options.NAMES


def test_option_controls_parse_with_the_shared_parser():
    form = forms.EstimateForm({"quant": "q8_0", "context": "32k", "kv_type": "Q4_0"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "quant": "Q8_0", "context": 32768, "kv_type": "q4_0", "parallel": None
    }  # fmt: skip


def test_a_bad_control_reports_the_parsers_message():
    form = forms.MachineForm({"memory_gb": "64", "context": "lots"})
    assert not form.is_valid()
    assert "is not a number of tokens" in form.errors["context"][0]


def test_page_options_keep_defaults_and_say_what_is_shown_instead():
    shown, problems = forms.page_options({"quant": "Q9_X", "context": "16k"})
    assert shown == Options(context=16384)
    assert [p.field for p in problems] == ["quant", ""]
    assert problems[-1].message.startswith(f"Showing {DEFAULTS.quant} at 16,384 tokens")


def test_the_display_form_shows_the_options_used():
    form = forms.display_form(Options(quant="Q8_0", context=32768))
    assert form["quant"].value() == "Q8_0" and form["context"].value() == "32768"
