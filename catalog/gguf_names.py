"""GGUF downloads from a repository listing: split files grouped, quant labels parsed.

Publishers name files ``<model>-<LABEL>.gguf`` or, past the Hub's 50 GB per file,
``<model>-<LABEL>-00001-of-00005.gguf`` (llama.cpp's ``llama-gguf-split`` naming); the
label is sometimes only in the folder (``Q4_K_M/model-00001-of-00002.gguf``). One
download is one label: the parts of a split together, first part first.

Plain functions over ``(path, size)`` pairs; nothing here touches the network or the
database. The label grammar is the engine's
(:data:`calculator.engine.quant.PUBLISHED_LABEL`), so a label parsed here is one the
options parser accepts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from calculator.engine.quant import PUBLISHED_LABEL, canonical_published_label

SPLIT = re.compile(r"^(?P<stem>.+)-(?P<part>\d{5})-of-(?P<count>\d{5})$")
# A label is a whole token of the name: not part of a longer word.
_LABEL_TOKEN = re.compile(
    rf"(?<![A-Za-z0-9])(?:{PUBLISHED_LABEL.pattern})(?![A-Za-z0-9])", re.IGNORECASE
)
# Files that are not the language model's weights: vision projectors, importance
# matrices, draft models for speculative decoding.
NOT_WEIGHTS = re.compile(r"(^|[-._/])(mmproj|imatrix|draft)([-._/]|$)", re.IGNORECASE)
MAX_PARTS = 999
MAX_PATH = 500


@dataclass(frozen=True)
class Part:
    path: str
    size: int | None


@dataclass
class Download:
    """One quant of a repository: its label, its parts (first part first)."""

    label: str
    parts: list[Part]
    part_count: int  # what the names say (-of-00005), 1 for a single file
    problems: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.parts[0].path

    @property
    def complete(self) -> bool:
        return len(self.parts) == self.part_count

    @property
    def total_bytes(self) -> int | None:
        """All parts' bytes, or None while a part or its size is missing."""
        if not self.complete or any(p.size is None for p in self.parts):
            return None
        return sum(p.size or 0 for p in self.parts)


def quant_label(path: str) -> str | None:
    """The quant label in a file's name, else in its folders (innermost first)."""
    *folders, name = path.split("/")
    stem = _stem(name)
    split = SPLIT.match(stem)
    if split:
        stem = split["stem"]
    for text in (stem, *reversed(folders)):
        found = list(_LABEL_TOKEN.finditer(text))
        if found:
            return canonical_published_label(found[-1].group(0))
    return None


def _stem(name: str) -> str:
    return name[: -len(".gguf")] if name.lower().endswith(".gguf") else name


def is_weights_file(path: str) -> bool:
    return path.lower().endswith(".gguf") and not NOT_WEIGHTS.search(path)


def group_downloads(entries: Iterable[tuple[str, int | None]]) -> tuple[list[Download], list[str]]:
    """The downloads in a listing, one per label, and what was skipped and why.

    Parts group by folder and name without the ``-0000N-of-0000M`` suffix. Where two
    downloads share a label (a re-upload beside the old file), the complete one wins,
    then the one in a folder named like the label, then the shorter path.
    """
    groups: dict[tuple[str, str, int], dict[int, Part]] = {}
    skipped: list[str] = []
    for path, size in entries:
        if not is_weights_file(path):
            continue
        if len(path) > MAX_PATH:
            skipped.append(f"{path[:60]}…: path longer than {MAX_PATH} characters")
            continue
        folder, _, name = path.rpartition("/")
        stem = _stem(name)
        split = SPLIT.match(stem)
        part, count = (int(split["part"]), int(split["count"])) if split else (1, 1)
        if not 1 <= part <= count <= MAX_PARTS:
            skipped.append(f"{path}: part {part} of {count} is not a valid split name")
            continue
        key = (folder, split["stem"] if split else stem, count)
        groups.setdefault(key, {})[part] = Part(path, size if _is_size(size) else None)
    by_label: dict[str, list[Download]] = {}
    for (_folder, _stem_name, count), parts in sorted(groups.items()):
        first = parts[min(parts)]
        label = quant_label(first.path)
        if label is None:
            skipped.append(f"{first.path}: no quant label in its name or folder")
            continue
        download = Download(label, [parts[i] for i in sorted(parts)], count)
        if not download.complete:
            download.problems.append(f"{len(parts)} of {count} parts listed")
        by_label.setdefault(label, []).append(download)
    downloads = []
    for label, candidates in sorted(by_label.items()):
        candidates.sort(key=lambda d: _preference(d, label))
        downloads.append(candidates[0])
        for other in candidates[1:]:
            skipped.append(
                f"{other.path}: another {label} download is listed ({candidates[0].path})"
            )
    return downloads, skipped


def _is_size(size: object) -> bool:
    return isinstance(size, int) and not isinstance(size, bool) and 0 < size < 2**53


def _preference(download: Download, label: str) -> tuple[bool, bool, int, str]:
    folder = download.path.rpartition("/")[0].rsplit("/", 1)[-1]
    return (
        not download.complete,
        label.lower() not in folder.lower(),
        len(download.path),
        download.path,
    )
