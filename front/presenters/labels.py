"""Plain words and links for engine values."""

from __future__ import annotations

from calculator.engine.estimate import Options
from calculator.engine.speed import SpeedEstimate
from calculator.options import DEFAULTS, canonical_query

MIN_CONTEXT_PRESET = 2048

MODE_LABELS = {
    "gpu": "Fits in VRAM",
    "unified": "Fits in unified memory",
    "cpu": "Fits in RAM",
    "expert_offload": "Experts offloaded to RAM",
    "partial_offload": "Partial offload to RAM",
    "does_not_fit": "Does not fit",
}


def fit_status(speed: SpeedEstimate) -> str:
    """``fits`` / ``partial`` / ``nofit`` (a CSS class and a plain-word status)."""
    if speed.mode == "does_not_fit":
        return "nofit"
    if speed.fits:
        return "fits"
    return "partial"


def mode_label(speed: SpeedEstimate) -> str:
    if speed.mode == "cpu" and speed.hardware.kind == "gpu":
        return "Runs from system RAM"
    return MODE_LABELS[speed.mode]


def page_query(options: Options, defaults: Options = DEFAULTS) -> str:
    """The canonical query string (with its ``?``, or empty) that shows ``options`` on a
    model page whose own defaults are ``defaults`` (a model's default quant): the same
    options always link to the same URL."""
    query = canonical_query(options, defaults)
    return f"?{query}" if query else ""


def context_presets(max_context: int) -> list[int]:
    """Powers of two from 2K up to the model's trained context, plus that maximum."""
    presets = []
    n = MIN_CONTEXT_PRESET
    while n < max_context:
        presets.append(n)
        n *= 2
    presets.append(max_context)
    return presets
