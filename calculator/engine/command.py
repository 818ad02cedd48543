"""The ``llama-server`` line that realises a plan (flags from ggml-org/llama.cpp
common/arg.cpp @145b6280d6aa1890e22457143dad0badb3fd6820: ``-ngl``, ``--n-cpu-moe N``
keeps the MoE weights of the first N layers in the CPU, ``-ot exps=CPU`` all of them,
``-ts`` the share of the model per GPU)."""

from __future__ import annotations

from collections.abc import Sequence

from calculator.engine.options import Options


def llama_cpp_command(
    options: Options,
    *,
    gpu_layers: int | None,
    cpu_moe_layers: int = 0,
    model_file: str = "",
    all_experts_on_cpu: bool = False,
    tensor_split: Sequence[float] = (),
    rope_flags: Sequence[str] = (),
) -> str:
    """``cpu_moe_layers`` is the value of ``--n-cpu-moe`` (layers counted from 0, dense
    layers included); ``rope_flags`` the rope scaling a context past the native one needs
    (:func:`calculator.engine.context.rope_flags`). ``model_file`` is the published GGUF
    to load, as its repository path (llama.cpp opens the other parts of a split file from
    the first); without one the command names a placeholder, ``model-<quant>.gguf``."""
    parts = ["llama-server", "-m", model_file or f"model-{options.quant}.gguf"]
    parts += ["-c", str(options.context * options.parallel)]
    parts += list(rope_flags)
    if options.parallel > 1:
        parts += ["-np", str(options.parallel)]
    parts += ["-fa", "on" if options.flash_attention else "off"]
    parts += ["-ngl", str(99 if gpu_layers is None else gpu_layers)]
    if all_experts_on_cpu:
        parts += ["-ot", "exps=CPU"]
    elif cpu_moe_layers:
        parts += ["--n-cpu-moe", str(cpu_moe_layers)]
    if tensor_split:
        parts += ["-ts", ",".join(f"{s:g}" for s in tensor_split)]
    if options.kv_type != "f16":
        parts += ["-ctk", options.kv_type, "-ctv", options.kv_type]
    return " ".join(parts)
