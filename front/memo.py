"""Per-process memos of engine results and rendered regions (the web layer's only memos).

``services.architecture_of`` returns the same ``Architecture`` object for the same row
version, so a memo keyed on that object's identity is dropped with the row version.
Each entry keeps a reference to its architecture, so the ``id`` cannot be reused while
the entry lives. Bounded: the estimate memo clears itself past ``MEMO_LIMIT`` entries,
the rendered regions are an LRU of ``REGIONS_LIMIT``. ``clear()`` empties all of them
(tests; never needed for correctness).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from calculator import services
from calculator.engine import hardware as hw
from calculator.engine.estimate import Estimate, Options
from calculator.engine.fit import ladder, total_bytes
from calculator.engine.types import Architecture

T = TypeVar("T")

MEMO_LIMIT = 20_000
REGIONS_LIMIT = 256  # rendered results regions (a large model page's is ~60 KB)

_LOCK = threading.Lock()
_MEMO: dict[tuple[Any, ...], tuple[Any, Any]] = {}
_REGIONS: OrderedDict[tuple[Any, ...], tuple[Any, str]] = OrderedDict()
_LATEST: dict[str, tuple[Any, Any]] = {}  # one value per name, for its latest inputs


def memo(arch: Architecture | None, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()``, once per architecture object and ``key``."""
    full_key = (id(arch), *key)
    hit = _MEMO.get(full_key)
    if hit is not None and hit[0] is arch:
        return hit[1]  # type: ignore[no-any-return]
    value = compute()
    with _LOCK:
        if len(_MEMO) >= MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[full_key] = (arch, value)
    return value


def latest(name: str, key: Any, compute: Callable[[], T]) -> T:
    """``compute()``, kept for the most recent ``key`` of ``name`` only (one large value
    that changes when any row it is computed from changes, e.g. the validation report)."""
    hit = _LATEST.get(name)
    if hit is not None and hit[0] == key:
        return hit[1]  # type: ignore[no-any-return]
    value = compute()
    with _LOCK:
        _LATEST[name] = (key, value)
    return value


def region(arch: Architecture, key: tuple[Any, ...], render: Callable[[], str]) -> str:
    """A rendered HTML region, reused while the inputs it was rendered from are the same.

    A model page's results are a pure function of the model row, the options, the
    hardware rows and the input problems, so the HTML is rendered once per process
    (LRU-bounded) instead of on every request.
    """
    full_key = (id(arch), *key)
    with _LOCK:
        hit = _REGIONS.get(full_key)
        if hit is not None and hit[0] is arch:
            _REGIONS.move_to_end(full_key)
            return hit[1]
    html = render()
    with _LOCK:
        _REGIONS[full_key] = (arch, html)
        while len(_REGIONS) > REGIONS_LIMIT:
            _REGIONS.popitem(last=False)
    return html


def clear() -> None:
    with _LOCK:
        _MEMO.clear()
        _REGIONS.clear()
        _LATEST.clear()


# --- the engine calls the pages repeat ------------------------------------------------


def hardware_key(hardware: services.HardwareSet) -> tuple[Any, ...]:
    return (hardware.profiles, hardware.host, hardware.moe_penalty)


def estimate(
    arch: Architecture,
    options: Options,
    hardware: services.HardwareSet,
    profiles: Sequence[hw.HardwareProfile] | None = None,
) -> Estimate:
    profiles_key = None if profiles is None else tuple(profiles)
    return memo(
        arch,
        ("estimate", options, hardware_key(hardware), profiles_key),
        lambda: services.estimate_for(arch, options, hardware, profiles),
    )


def total(arch: Architecture, options: Options) -> int:
    return memo(arch, ("total", options), lambda: total_bytes(arch, options))


def quant_ladder(arch: Architecture) -> tuple[str, ...]:
    return memo(arch, ("ladder",), lambda: tuple(ladder(arch)))
