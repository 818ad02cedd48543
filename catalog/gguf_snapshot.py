"""Load the reviewed snapshot of GGUF listings (``catalog/data/gguf_listings.json``).

Idempotent and respectful of editors and of the Hub sync: a repository is created when
missing (by its id) and never overwritten; a file is created when its repository has no
file of that label yet, so a file the sync already read exactly is never replaced by a
rounded figure. Repositories whose model is not in the catalog yet are skipped (they load
once the model exists).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from calculator import versions
from calculator.models import LlmModel
from catalog.models import GgufFile, GgufRepository

SNAPSHOT_FILE = Path(__file__).resolve().parent / "data" / "gguf_listings.json"


@dataclass
class SnapshotResult:
    repositories_created: int = 0
    files_created: int = 0
    skipped: list[str] = field(default_factory=list)  # repositories without their model

    def summary(self) -> str:
        text = (
            f"GGUF snapshot: {self.repositories_created} new repositories, "
            f"{self.files_created} new files"
        )
        if self.skipped:
            text += f"; waiting for their model: {', '.join(self.skipped)}"
        return text + "."


def _file_values(row: dict[str, Any]) -> dict[str, Any]:
    parts = [
        {"path": p["path"], "bytes": p["bytes"], "as_published": p.get("as_published", "")}
        for p in row["parts"]
    ]
    sizes = [p["bytes"] for p in parts]
    complete = len(parts) == row["part_count"] and all(isinstance(s, int) for s in sizes)
    note = row.get("compare_note") or row.get("note") or ""
    return {
        "path": row["path"],
        "part_count": row["part_count"],
        "parts": parts,
        "total_bytes": sum(sizes) if complete else None,
        "size_precision": row["size_precision"] if complete else GgufFile.Precision.UNKNOWN,
        "commit": row.get("commit") or "",
        "source": row["source"],
        "standard_mix": row.get("standard_mix", True),
        "note": note[:500],
    }


def gguf_snapshot_load(*, path: Path = SNAPSHOT_FILE) -> SnapshotResult:
    data = json.loads(path.read_text(encoding="utf-8"))
    result = SnapshotResult()
    models = {m.slug: m for m in LlmModel.objects.all()}
    with transaction.atomic():
        for row in data["repositories"]:
            model = models.get(row["model"])
            if model is None:
                result.skipped.append(row["repo_id"])
                continue
            repository = GgufRepository.objects.filter(repo_id=row["repo_id"]).first()
            if repository is None:
                repository = GgufRepository(
                    repo_id=row["repo_id"],
                    model=model,
                    publisher=row.get("publisher", ""),
                    position=row.get("position", 100),
                    notes=row.get("notes", ""),
                )
                repository.full_clean()
                repository.save()
                result.repositories_created += 1
            known = set(repository.files.values_list("label", flat=True))
            for file_row in row["files"]:
                if file_row["label"] in known:
                    continue
                gguf = GgufFile(
                    repository=repository, label=file_row["label"], **_file_values(file_row)
                )
                gguf.full_clean()
                gguf.save()
                known.add(gguf.label)
                result.files_created += 1
    if result.files_created or result.repositories_created:
        versions.bump(versions.MODELS)
    return result
