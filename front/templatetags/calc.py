"""Display filters: units and rounding for figures the engine computed.

The unit filters are ``calculator.formatting``'s functions (the FAQ and SEO text use
the same ones); the rest only round or pick. They format, they never compute.
"""

from __future__ import annotations

from django import template

from calculator import formatting
from calculator.engine.estimate import Options
from front.forms import option_tags
from front.presenters.labels import label as enum_label
from front.presenters.labels import options_state, time_element

register = template.Library()

register.filter("gb", formatting.gb)
register.filter("ctx", formatting.ctx)
register.filter("params", formatting.params)
register.filter("tps", formatting.tps)
register.filter("seconds", formatting.seconds)
register.filter("as_of", time_element)  # a price's <time>: date:'c' and date:"Y-m-d H:i T"


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
def label(value: object, enum: str) -> str:
    """Human words for an enum value: ``{{ profile.tier|label:"tier" }}``."""
    return enum_label(enum, value)


@register.filter
def state(options: Options, fields: str = "") -> str:
    """The options that differ from the defaults, in words: ``{{ options|state }}``, or
    only some fields: ``{{ options|state:"context" }}``."""
    names = tuple(fields.split(",")) if fields else None
    return options_state(options, names) if names else options_state(options)


@register.filter
def options(choices: list[tuple[str, str]], selected: object = None) -> str:
    """``<option>`` tags for ``(value, label)`` pairs, one string (no per-option nodes)."""
    return option_tags(choices, selected)
