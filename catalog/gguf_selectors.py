"""Read vocabulary for published GGUF files, and a published file's weights for the engine.

* ``model_files(model)``: the files a model page lists (active repositories, files not
  gone), repositories in their editors' order, largest file first.
* ``published_labels(model)``: the labels a model's files add to the quant menu (those
  that are not llama-quantize presets: presets stay our prediction).
* ``file_weights(arch, gguf)``: the engine's weights for a published file: its real size,
  split by its own tensor summary when its header was read, else in the proportions of
  the closest standard preset (the note says which).
* ``resolve_quant(model, arch, label)``: the one place a quant a visitor typed meets the
  model's files: ``None`` for a preset or release type (predicted), the file's
  ``PublishedWeights`` for a published label, and ``EngineError`` naming ``quant`` when
  this model has no file of that label.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.db.models import QuerySet

from calculator import versions
from calculator.engine import quant
from calculator.engine.hardware import GB
from calculator.engine.types import Architecture, EngineError
from calculator.models import LlmModel
from catalog.models import GgufFile


def _listed(model_pk: int) -> QuerySet[GgufFile]:
    """The model's listed files, repositories in their editors' order, largest first."""
    return (
        GgufFile.objects.listed()
        .for_model(model_pk)
        .order_by("repository__position", "repository__repo_id", "-total_bytes", "label")
    )


def model_files(model: LlmModel) -> list[GgufFile]:
    """Read once per version of the MODELS data (editors' file changes and every sync bump
    it) and model: a cold page or API call resolves its quant without a query. The rows
    are shared between requests: nothing may change them."""
    return list(_files_now(model.pk))


def _read_files(model_pk: int) -> list[GgufFile]:
    return list(_listed(model_pk).select_related("repository"))


_files_now = versions.PerVersion(versions.MODELS, _read_files)


def _selectable(files: list[GgufFile]) -> dict[str, GgufFile]:
    """Label -> the file the calculator uses (first repository in the editors' order)."""
    chosen: dict[str, GgufFile] = {}
    for gguf in files:
        if gguf.total_bytes and not quant.is_standard(gguf.label):
            chosen.setdefault(gguf.label, gguf)
    return chosen


def file_path(model: LlmModel, label: str, files: list[GgufFile] | None = None) -> str:
    """The repository path of the model's listed file for ``label`` (the first part of a
    split file; the first repository in the editors' order), or "" when none is listed:
    what a command loads for a preset or release type the model's repositories publish."""
    label = quant.validate_label(label)
    if files is None:  # one row, not the model's whole listing
        found = _listed(model.pk).filter(label=label).values_list("path", flat=True).first()
        return str(found or "")
    return next((str(gguf.path) for gguf in files if gguf.label == label), "")


def published_labels(model: LlmModel, files: list[GgufFile] | None = None) -> list[str]:
    """Labels selectable for this model beyond the presets, largest file first."""
    chosen = _selectable(model_files(model) if files is None else files)
    return sorted(chosen, key=lambda label: -(chosen[label].total_bytes or 0))


@dataclass(frozen=True)
class PublishedWeights:
    file: GgufFile
    weights: quant.WeightsBreakdown
    note: str

    @property
    def key(self) -> tuple[object, ...]:
        """What an estimate from this file depends on (memo keys)."""
        return (self.file.pk, self.weights)


def file_weights(arch: Architecture, gguf: GgufFile) -> PublishedWeights:
    """The engine's weights for a published file of known size (EngineError otherwise)."""
    if not gguf.total_bytes:
        raise EngineError(f"the size of {gguf.label} is not known yet", "quant")
    size = f"{gguf.total_bytes / GB:.1f} GB"
    if gguf.has_tensor_summary and gguf.tensor_bytes and gguf.total_bytes >= gguf.tensor_bytes:
        tensors = quant.WeightsBreakdown(
            preset=gguf.label,
            total_bytes=gguf.tensor_bytes,
            n_params=gguf.tensor_params or arch.total_params,
            bytes_by_type=tuple(
                sorted(((str(k), int(v)) for k, v in gguf.bytes_by_type.items()),
                       key=lambda kv: (-kv[1], kv[0]))
            ),
            expert_bytes=gguf.expert_bytes or 0,
            non_expert_bytes=gguf.non_expert_bytes or 0,
            token_embd_bytes=gguf.embedding_bytes or 0,
            output_bytes=gguf.output_bytes or 0,
            layer_bytes=tuple(int(b) for b in gguf.layer_bytes),
        )  # fmt: skip
        weights = quant.measured_breakdown(
            gguf.label, total_bytes=gguf.total_bytes, tensors=tensors
        )
        note = (
            f"Weights are the published file {gguf.repository.repo_id} {gguf.label} ({size}); "
            "bytes read per token come from the tensor types in its GGUF header."
        )
    else:
        template = quant.closest_preset(arch, gguf.total_bytes)
        weights = quant.scaled_breakdown(
            quant.weights_bytes(arch, template), gguf.total_bytes, gguf.label
        )
        note = (
            f"Weights are the published file {gguf.repository.repo_id} {gguf.label} ({size}"
            f"{'' if gguf.is_exact else ', as listed'}); its tensor mix is not known, so it "
            f"is split between experts and the rest like {template}, the preset closest in "
            "size."
        )
    return PublishedWeights(gguf, replace(weights, file=gguf.path), note)


def resolve_quant(
    model: LlmModel, arch: Architecture, label: str, files: list[GgufFile] | None = None
) -> PublishedWeights | None:
    """``None`` for a preset or release type; a published file's weights for its label;
    EngineError naming ``quant`` when this model has no such file (``files``: the model's,
    when the caller has them)."""
    if quant.is_standard(label):
        return None
    files = model_files(model) if files is None else files
    gguf = _selectable(files).get(label)
    if gguf is None:
        known = published_labels(model, files)
        offer = f"; published: {', '.join(known)}" if known else ""
        raise EngineError(
            f"{model.name} has no published file labelled {label} of known size{offer}",
            "quant",
        )
    return file_weights(arch, gguf)
