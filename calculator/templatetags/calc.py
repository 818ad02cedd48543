"""Display filters: units and rounding for figures the engine computed.

They format, they never compute a new quantity.
"""

from __future__ import annotations

from django import template

from calculator.engine.hardware import GB
from calculator.presenters import context_label

register = template.Library()


@register.filter
def gb(value: int | float | None) -> str:
    """Bytes → "377 GB" / "41.2 GB" / "0.58 GB" (decimal GB, like file listings)."""
    if value is None:
        return "–"
    size = value / GB
    if size >= 100:
        return f"{size:,.0f} GB"
    if size >= 1:
        return f"{size:.1f} GB"
    return f"{size:.2f} GB"


@register.filter
def ctx(value: int | None) -> str:
    """Tokens → "8K", "160K", "1M"."""
    return "–" if value is None else context_label(int(value))


@register.filter
def params(value: int | None) -> str:
    """Parameter count → "671B", "8.0B", "600M"."""
    if not value:
        return "–"
    if value >= 1e12:
        return f"{value / 1e12:.2f}T"
    if value >= 100e9:
        return f"{value / 1e9:.0f}B"
    if value >= 1e9:
        return f"{value / 1e9:.1f}B"
    return f"{value / 1e6:.0f}M"


@register.filter
def tps(value: float | None) -> str:
    """tokens/s → "3.3", "115", "0.42"."""
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.2f}"


@register.filter
def pct(value: float | None) -> str:
    """A fraction → "4.1%" (signed when asked through ``signed_pct``)."""
    return "–" if value is None else f"{value * 100:.1f}%"


@register.filter
def signed_pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f}%"


@register.filter
def bpw(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


@register.filter
def index(sequence: tuple[object, ...] | list[object], i: int) -> object:
    return sequence[i]


@register.filter
def index_key(mapping: dict[str, object], key: str) -> object:
    return mapping.get(key, key)
