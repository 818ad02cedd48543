"""Context length as shipped: native, documented extension, and the llama.cpp flags.

A config's own ``rope_scaling`` (Llama 3.1's "llama3", DeepSeek's YaRN, Gemma 3's linear
scaling) is written into the GGUF by the converter, so llama.cpp applies it with no flag
and the whole ``max_position_embeddings`` is native. Some publishers document a longer
context that needs rope scaling the release config leaves off: Qwen3 runs 32,768 tokens
natively and 131,072 with YaRN factor 4 (``original_max_position_embeddings`` 32768).
Those facts come from the model card, cited in the model's data file, and reach the
engine through :func:`with_documented`.

The flags are llama.cpp's ``--rope-scaling {none,linear,yarn}``, ``--rope-scale N`` and
``--yarn-orig-ctx N`` (``common/arg.cpp`` at ggml-org/llama.cpp 0c1e57098).

Public functions: :func:`limits`, :func:`with_documented`, :func:`rope_flags`,
:func:`beyond_documented`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from math import isfinite
from typing import Any

from calculator.engine.types import Architecture, ContextLimits, EngineError

__all__ = ["ContextLimits", "beyond_documented", "limits", "rope_flags", "with_documented"]

METHODS = ("yarn", "linear")
MAX_CONTEXT = 1 << 26


def limits(arch: Architecture) -> ContextLimits:
    """The model's native and documented context (the config's own when undocumented)."""
    if arch.documented_context is not None:
        return arch.documented_context
    return ContextLimits(native=arch.n_ctx_train, extended=arch.n_ctx_train)


def with_documented(arch: Architecture, documented: Mapping[str, Any] | None) -> Architecture:
    """``arch`` carrying the long-context facts of its model card.

    ``documented`` is a data file's ``long_context`` object: ``native`` and ``extended``
    tokens, the rope-scaling ``method`` ("yarn" or "linear") and ``factor`` needed above
    ``native``, and the ``source`` that documents them. ``None`` leaves ``arch`` as is.
    """
    if documented is None:
        return arch
    if not isinstance(documented, Mapping):
        raise EngineError("long_context must be an object", "long_context")
    native = _tokens(documented.get("native"), "native")
    extended = _tokens(documented.get("extended", native), "extended")
    if extended < native:
        raise EngineError("long_context extended is shorter than native", "long_context")
    method = documented.get("method")
    factor = documented.get("factor")
    if extended > native:
        if method not in METHODS:
            raise EngineError(
                f"long_context method must be one of {', '.join(METHODS)}", "long_context"
            )
        if (
            isinstance(factor, bool)
            or not isinstance(factor, int | float)
            or not isfinite(factor)
            or not 1 < factor <= 64
        ):
            raise EngineError("long_context factor must be a number above 1", "long_context")
        if extended > native * factor:
            raise EngineError("long_context extended exceeds native x factor", "long_context")
    else:
        method, factor = None, None
    source = str(documented.get("source") or "")
    if not source.startswith(("https://", "github:")):
        raise EngineError("long_context needs a public source (URL)", "long_context")
    found = ContextLimits(
        native=native,
        extended=extended,
        method=method,
        factor=float(factor) if factor is not None else None,
        source=source,
    )
    return replace(arch, documented_context=found)


def rope_flags(arch: Architecture, context: int) -> tuple[str, ...]:
    """llama-server flags a ``context``-token run needs (empty within the native context)."""
    lim = limits(arch)
    if context <= lim.native or lim.method is None or lim.factor is None:
        return ()
    flags: tuple[str, ...] = ("--rope-scaling", lim.method, "--rope-scale", f"{lim.factor:g}")
    if lim.method == "yarn":
        flags += ("--yarn-orig-ctx", str(lim.native))
    return flags


def beyond_documented(arch: Architecture, context: int) -> bool:
    """True past the longest context the model is documented to handle."""
    return context > limits(arch).extended


def _tokens(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_CONTEXT:
        raise EngineError(f"long_context {key} must be a token count", "long_context")
    return value
