"""Plain words and links for engine values.

``ENUM_LABELS`` is the one place a stored or computed code (``consumer-gpu``, ``apu``,
``MXFP4``, ``3DS_RDIMM``…) becomes the words a page shows: one table per enum. Templates
use the ``label`` filter (``{{ profile.tier|label:"tier" }}``), Python code ``label()``.
A test checks that every value the data can hold has its words, so the fallback (the
code with its dashes and underscores as spaces) never reaches a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from calculator.engine.estimate import Options
from calculator.engine.speed import SpeedEstimate
from calculator.formatting import ctx
from calculator.models import HardwareProfile
from calculator.options import DEFAULTS, NAMES, canonical_items, canonical_query

MIN_CONTEXT_PRESET = 2048

MODE_LABELS = {
    "gpu": "Fits in VRAM",
    "multi_gpu": "Split across GPUs",
    "unified": "Fits in unified memory",
    "cpu": "Fits in RAM",
    "expert_offload": "Experts offloaded to RAM",
    "partial_offload": "Partial offload to RAM",
    "does_not_fit": "Does not fit",
}

# The one fit rule's four answers (calculator.engine.pools.classify) in plain words.
FIT_LABELS = {
    "comfortable": "Fits comfortably",
    "tight": "Fits tightly",
    "offload": "Runs with offload",
    "none": "Does not fit",
}

ENUM_LABELS: dict[str, Mapping[str, str]] = {
    "architecture": {"dense": "Dense", "moe": "Mixture-of-Experts"},
    # Short names for a kit's one-line description; the catalog's choices say more.
    "form_factor": {
        "UDIMM": "UDIMM",
        "CUDIMM": "CUDIMM (clocked UDIMM)",
        "SODIMM": "SO-DIMM",
        "RDIMM": "RDIMM",
        "LRDIMM": "LRDIMM",
        "3DS_RDIMM": "3DS RDIMM",
        "MRDIMM": "MRDIMM (multiplexed-rank RDIMM)",
    },
    "hardware_kind": {
        "cpu": "PC system RAM (CPU inference)",
        "apple": "Mac unified memory",
        "apu": "Unified-memory PC (Strix Halo, DGX Spark)",
        "gpu": "Graphics card VRAM",
    },
    "quant_group": {
        "K-quants": "K-quants",
        "I-quants": "I-quants",
        "I-quants (need an importance matrix)": "I-quants (need an importance matrix)",
        "legacy": "Legacy quants",
        "MXFP4": "MXFP4 (gpt-oss)",
        "unquantized": "Unquantized",
        "ternary (only for ternary-trained models)": "Ternary (only for ternary-trained models)",
    },
    "speed_mode": MODE_LABELS,
    "fit": FIT_LABELS,
    "tier": dict(HardwareProfile.TIERS),
    "validation": {
        "file_size": "GGUF file size",
        "params": "Total parameters",
        "active_params": "Active parameters",
        "kv_cache": "KV cache size",
        "decode_speed": "Decode speed",
        "prefill_speed": "Prompt processing speed",
        "memory_bandwidth": "Measured memory bandwidth",
    },
}


def label(enum: str, value: object) -> str:
    """The words for ``value`` of ``enum`` (a key of ``ENUM_LABELS``)."""
    text = str(value)
    found = ENUM_LABELS[enum].get(text)
    if found is not None:
        return found
    words = text.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


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


# How a title or an announcement names each option that differs from the default.
STATE_WORDS = {
    "quant": "{}",
    "context": "{} context",
    "kv_type": "{} KV cache",
    "parallel": "{} parallel sequences",
}


def options_state(options: Options, fields: tuple[str, ...] = NAMES) -> str:
    """The options that differ from the defaults, in words (``"Q8_0, 32K context"``;
    empty for the defaults): what a page's title adds for its state."""
    parts = []
    for name, _ in canonical_items(options, fields=fields):
        value = getattr(options, name)
        parts.append(STATE_WORDS[name].format(ctx(value) if name == "context" else value))
    return ", ".join(parts)


def context_presets(max_context: int) -> list[int]:
    """Powers of two from 2K up to the model's trained context, plus that maximum."""
    presets = []
    n = MIN_CONTEXT_PRESET
    while n < max_context:
        presets.append(n)
        n *= 2
    presets.append(max_context)
    return presets


def time_element(moment: datetime | None) -> SafeString | str:
    """When a price was checked, as a ``<time>`` element: ISO 8601 for machines, then
    ``2026-12-01 04:19 UTC`` in the site's time zone (what ``date:'c'`` and
    ``date:"Y-m-d H:i T"`` give, in a tenth of their time: a kit table has one a row).
    Templates write it ``{{ moment|as_of }}``."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    shown = local.strftime("%Y-%m-%d %H:%M %Z")
    return format_html('<time datetime="{}">{}</time>', local.isoformat(), shown)
