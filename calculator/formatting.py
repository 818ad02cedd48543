"""Plain-text units for figures the engine computed: "377 GB", "671B", "3.3", "32K".

Pages (through the ``calc`` template filters), the FAQ answers and the SEO text all
word numbers with these, so a figure reads the same everywhere. They format; they
never compute a new quantity.
"""

from __future__ import annotations

from calculator.engine.hardware import GB

NONE = "–"


def gb(value: int | float | None) -> str:
    """Bytes → "377 GB" / "41.2 GB" / "0.58 GB" (decimal GB, like file listings)."""
    if value is None:
        return NONE
    size = value / GB
    if size >= 100:
        return f"{size:,.0f} GB"
    if size >= 1:
        return f"{size:.1f} GB"
    return f"{size:.2f} GB"


def context_label(tokens: int) -> str:
    """8192 → "8K", 163840 → "160K", 1048576 → "1M", 1000 → "1,000"."""
    if tokens >= 1024 * 1024 and tokens % (1024 * 1024) == 0:
        return f"{tokens // (1024 * 1024)}M"
    if tokens >= 1024 and tokens % 1024 == 0:
        return f"{tokens // 1024}K"
    return f"{tokens:,}"


def ctx(value: int | None) -> str:
    """Tokens → "8K", "160K", "1M"."""
    return NONE if value is None else context_label(int(value))


def params(value: int | None) -> str:
    """Parameter count → "671B", "8.0B", "600M"."""
    if not value:
        return NONE
    if value >= 1e12:
        return f"{value / 1e12:.2f}T"
    if value >= 100e9:
        return f"{value / 1e9:.0f}B"
    if value >= 1e9:
        return f"{value / 1e9:.1f}B"
    return f"{value / 1e6:.0f}M"


def tps(value: float | None) -> str:
    """tokens/s → "3.3", "115", "0.42"."""
    if value is None:
        return NONE
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.2f}"


def seconds(value: float | None) -> str:
    """A wait a visitor reads: "0.4 s", "12 s", "3.4 min", "1.2 h"; "–" when unknown."""
    if value is None:
        return "–"
    if value < 10:
        return f"{value:.1f} s"
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"
