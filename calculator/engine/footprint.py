"""What a model at one quant and context occupies and reads per token."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from calculator.engine import context as context_limits
from calculator.engine import quant
from calculator.engine.compute import compute_buffer_bytes
from calculator.engine.kv_cache import KvCache, kv_cache, kv_read_bytes
from calculator.engine.options import Options
from calculator.engine.prefill import PrefillCost, prefill_cost
from calculator.engine.types import Architecture, EngineError


@dataclass(frozen=True, slots=True)
class Footprint:
    """What a model at one quant and context occupies and reads per token."""

    weights_bytes: int
    expert_bytes: int  # all routed-expert tensors
    token_embd_bytes: int  # the embedding table: stays in RAM, one row read per token
    output_bytes: int
    kv_bytes: int
    compute_bytes: int
    n_layer: int
    n_moe_layers: int
    expert_fraction_read: float  # n_expert_used / n_expert (0 for dense)
    kv_read_bytes: int  # KV bytes read per token at the chosen context
    first_moe_layer: int = 0  # leading dense layers (count in --n-cpu-moe)
    prefill: PrefillCost | None = None  # FLOPs per prompt token (None: not known)
    context: int = 0  # tokens of context the footprint was sized for
    rope_flags: tuple[str, ...] = ()  # llama.cpp flags this context needs (context.rope_flags)
    model_file: str = ""  # the GGUF the commands load ("": model-<quant>.gguf)

    @property
    def is_moe(self) -> bool:
        return self.n_moe_layers > 0

    @property
    def dense_read_bytes(self) -> int:
        """Non-expert weights read per token (everything but the embedding table)."""
        return self.weights_bytes - self.expert_bytes - self.token_embd_bytes

    @property
    def expert_read_bytes(self) -> float:
        return self.expert_bytes * self.expert_fraction_read

    @property
    def read_bytes_per_token(self) -> float:
        return self.dense_read_bytes + self.expert_read_bytes + self.kv_read_bytes

    @property
    def device_bytes(self) -> int:
        """Everything on one device: weights, KV, compute buffer."""
        return self.weights_bytes + self.kv_bytes + self.compute_bytes


@lru_cache(maxsize=1024)
def _first_moe_layer(arch: Architecture) -> int:
    layers = [t.layer for t in arch.tensors if t.is_expert and t.layer is not None]
    return min(layers) if layers else 0


def footprint(
    arch: Architecture,
    options: Options,
    weights: quant.WeightsBreakdown | None = None,
    *,
    model_file: str = "",
) -> tuple[quant.WeightsBreakdown, KvCache, Footprint]:
    """Weights, KV cache and the footprint of ``arch`` under ``options``.

    ``weights``: a published file's own weights (its real size, labelled
    ``options.quant``; see :func:`calculator.engine.quant.measured_breakdown` and
    :func:`~calculator.engine.quant.scaled_breakdown`) instead of the preset's
    prediction. KV cache, buffers and bytes read per token follow from it as usual.
    ``model_file``: the published GGUF the commands load (a path in its repository, the
    first part of a split file); by default the file ``weights`` came from, if any.
    Memoised for presets (a quant search asks for the same footprint on every build).
    """
    if weights is None:
        return _preset_footprint(arch, options, model_file)
    return _footprint(arch, options, weights, model_file)


@lru_cache(maxsize=8192)
def _preset_footprint(
    arch: Architecture, options: Options, model_file: str
) -> tuple[quant.WeightsBreakdown, KvCache, Footprint]:
    return _footprint(arch, options, None, model_file)


def _footprint(
    arch: Architecture,
    options: Options,
    weights: quant.WeightsBreakdown | None,
    model_file: str,
) -> tuple[quant.WeightsBreakdown, KvCache, Footprint]:
    options.validate()
    if weights is None:
        weights = quant.weights_bytes(arch, options.quant)
    elif weights.preset != quant.validate_label(options.quant):
        raise EngineError(
            f"the weights given are {weights.preset}'s, not {options.quant}'s", "quant"
        )
    kv = kv_cache(arch, options.context, options.kv_type, options.parallel)
    compute = compute_buffer_bytes(arch, options.context, flash_attention=options.flash_attention)
    fp = Footprint(
        weights_bytes=weights.total_bytes,
        expert_bytes=weights.expert_bytes,
        token_embd_bytes=weights.token_embd_bytes,
        output_bytes=weights.output_bytes,
        kv_bytes=kv.total_bytes,
        compute_bytes=compute,
        n_layer=arch.n_layer,
        n_moe_layers=arch.n_moe_layers,
        expert_fraction_read=arch.n_expert_used / arch.n_expert if arch.n_expert else 0.0,
        kv_read_bytes=kv_read_bytes(arch, options.context, options.kv_type),
        first_moe_layer=_first_moe_layer(arch),
        prefill=prefill_cost(arch),
        context=options.context,
        rope_flags=context_limits.rope_flags(arch, options.context),
        model_file=model_file or weights.file,
    )
    return weights, kv, fp
