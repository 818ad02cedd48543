"""GET-parameter parsing for the calculator pages.

Every page's state lives in its query string. Bad values never break a page: a
field that does not validate falls back to its default and its message is shown
inline (``problems``).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from django import forms

from calculator.engine.estimate import MAX_CONTEXT, MAX_PARALLEL, Options
from calculator.engine.hardware import KINDS
from calculator.engine.quant import PRESETS
from calculator.engine.types import EngineError
from calculator.selectors import SIZE_BUCKETS

DEFAULTS = Options()
KV_CHOICES = [
    ("f16", "f16 (default, full precision)"),
    ("q8_0", "q8_0 (half the memory, near-lossless)"),
    ("q4_0", "q4_0 (quarter, some quality loss)"),
]
GROUP_ORDER = (
    "K-quants",
    "I-quants",
    "I-quants (need an importance matrix)",
    "legacy",
    "MXFP4",
    "unquantized",
    "ternary (only for ternary-trained models)",
)


def quant_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """PRESETS grouped for a <select> with <optgroup>s, in a fixed group order."""
    groups: dict[str, list[tuple[str, str]]] = {g: [] for g in GROUP_ORDER}
    for name, preset in PRESETS.items():
        groups.setdefault(preset.group, []).append((name, name))
    return [(group.capitalize(), items) for group, items in groups.items() if items]


QUANT_CHOICES = quant_groups()
QUANT_HELP = [
    (group, [(name, PRESETS[name].description) for name, _ in items])
    for group, items in QUANT_CHOICES
]
_CONTEXT_RE = re.compile(r"^\s*(\d{1,9})\s*([kKmM]?)\s*$")


def parse_context(value: str) -> int:
    """ "8192", "8k", "128K", "1M" → tokens (K = 1024)."""
    match = _CONTEXT_RE.match(value.replace(",", "").replace("_", ""))
    if not match:
        raise forms.ValidationError(
            f"Context “{value[:20]}” is not a number of tokens (try 8192 or 32K)."
        )
    number, unit = int(match.group(1)), match.group(2).lower()
    return number * {"": 1, "k": 1024, "m": 1024 * 1024}[unit]


class ContextField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 30)
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "numeric", "autocomplete": "off", "size": 9})

    def clean(self, value: Any) -> int | None:  # type: ignore[override]
        value = super().clean(value)
        if not value:
            return None
        tokens = parse_context(value)
        if not 0 < tokens <= MAX_CONTEXT:
            raise forms.ValidationError(
                f"Context must be between 1 and {MAX_CONTEXT:,} tokens (got {value[:20]})."
            )
        return tokens


class QuantField(forms.ChoiceField):
    """Accepts any case ("q4_k_m"), renders grouped choices."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=QUANT_CHOICES, required=False, **kwargs)

    def to_python(self, value: Any) -> str:
        return str(value or "").strip().upper()

    def validate(self, value: Any) -> None:
        if value and value not in PRESETS:
            raise forms.ValidationError(f"Unknown quantization “{value[:20]}”.")


class EstimateForm(forms.Form):
    quant = QuantField(label="Quantization")
    context = ContextField(label="Context length (tokens)")
    kv_type = forms.ChoiceField(label="KV-cache type", choices=KV_CHOICES, required=False)
    parallel = forms.IntegerField(
        label="Parallel sequences", required=False, min_value=1, max_value=MAX_PARALLEL,
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_PARALLEL, "size": 4}),
    )  # fmt: skip

    def clean_kv_type(self) -> str:
        return self.cleaned_data.get("kv_type") or ""


def options_from(data: Any, default: Options = DEFAULTS) -> tuple[Options, list[str]]:
    """Options for a query string, and what was wrong with it (each bad field → default)."""
    form = EstimateForm(data)
    form.is_valid()
    values = asdict(default)
    problems: list[str] = []
    for name in ("quant", "context", "kv_type", "parallel"):
        if name in form.errors:
            problems.extend(str(e) for e in form.errors[name])
        elif form.cleaned_data.get(name):
            values[name] = form.cleaned_data[name]
    options = Options(**values)
    try:
        options.validate()
    except EngineError as err:  # nothing the form accepts should get here; stay safe
        problems.append(str(err))
        options = default
    if problems:
        problems.append(
            f"Showing {options.quant} at {options.context:,} tokens, "
            f"{options.kv_type} KV cache, {options.parallel} sequence(s) instead."
        )
    return options, problems


def display_form(options: Options) -> EstimateForm:
    """An unbound form showing the options actually used (never the bad input)."""
    return EstimateForm(
        initial={
            "quant": options.quant,
            "context": str(options.context),
            "kv_type": options.kv_type,
            "parallel": options.parallel,
        }
    )


class ModelFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100)
    family = forms.ChoiceField(label="Family", required=False, choices=[("", "All families")])
    architecture = forms.ChoiceField(
        label="Architecture",
        required=False,
        choices=[("", "Dense and MoE"), ("dense", "Dense"), ("moe", "Mixture-of-Experts")],
    )
    size = forms.ChoiceField(
        label="Size",
        required=False,
        choices=[("", "Any size"), *((k, v[0]) for k, v in SIZE_BUCKETS.items())],
    )
    fits_gb = forms.IntegerField(
        label="Fits in (GB of RAM)", required=False, min_value=1, max_value=100_000,
        widget=forms.NumberInput(attrs={"min": 1, "placeholder": "e.g. 64", "size": 6}),
    )  # fmt: skip
    quant = QuantField(label="at quant")

    def __init__(self, *args: Any, families: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        family: forms.ChoiceField = self.fields["family"]  # type: ignore[assignment]
        family.choices = [("", "All families"), *((f, f) for f in families)]

    def clean_quant(self) -> str:
        return self.cleaned_data.get("quant") or DEFAULTS.quant


class MachineForm(forms.Form):
    """ "I have N GB": system RAM or unified memory, and its bandwidth (optional)."""

    memory_gb = forms.FloatField(
        label="Memory (GB)", required=False, min_value=1, max_value=100_000,
        widget=forms.NumberInput(attrs={"min": 1, "step": "any", "placeholder": "64", "size": 6}),
    )  # fmt: skip
    kind = forms.ChoiceField(
        label="Kind",
        required=False,
        choices=[
            ("cpu", "PC system RAM (CPU inference)"),
            ("apple", "Mac unified memory"),
            ("apu", "Unified-memory PC (Strix Halo, DGX Spark)"),
        ],
    )
    bandwidth_gbps = forms.FloatField(
        label="Memory bandwidth (GB/s, optional)", required=False, min_value=1,
        max_value=100_000,
        widget=forms.NumberInput(attrs={"min": 1, "step": "any", "placeholder": "89.6", "size": 6}),
    )  # fmt: skip
    context = ContextField(label="Context length (tokens)")
    quant = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_kind(self) -> str:
        kind = self.cleaned_data.get("kind") or "cpu"
        assert kind in KINDS
        return kind


class CompareForm(forms.Form):
    models = forms.CharField(
        label="Models (slugs, comma-separated)", required=False, max_length=500
    )

    def clean_models(self) -> list[str]:
        raw = self.cleaned_data.get("models") or ""
        slugs = [s.strip().lower() for s in raw.replace(" ", ",").split(",") if s.strip()]
        return list(dict.fromkeys(slugs))[:4]


class SearchForm(forms.Form):
    q = forms.CharField(label="Find a model", required=False, max_length=100)
