"""Every source in the reviewed data files is a public citation a reader can open: a URL
(``https://...``) or a repository citation with its commit (``github:owner/repo path
@commit`` or ``github:owner/repo@commit:path``), never unpublished notes
or a path on some machine."""

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA_DIRS = (ROOT / "calculator" / "data", ROOT / "catalog" / "data")

# The files this test holds to the rule: every data file with sources.
COVERED = (
    "calculator/data/models/*.json",
    "calculator/data/hardware.json",
    "calculator/data/reference/*.csv",
    "calculator/data/builds.json",
    "calculator/data/platforms.json",
    "catalog/data/kits.json",
    "catalog/data/components.json",
    "catalog/data/reference_prices.json",
    "catalog/data/price_bands.json",
    "catalog/data/gguf_listings.json",
)  # catalog/data/demo_feed.json is sample prices, labelled so: nothing to cite

_REPO = r"github:[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"
_SHA = r"[0-9a-f]{7,40}"
# A repository path may hold spaces ("LLaMA 3/Gaming GPUs/3090_v3.ipynb"): it ends at " @sha".
CITATION = re.compile(rf"^(https://\S+|{_REPO}@{_SHA}:\S+|{_REPO} \S(?:[^@;]*\S)? @{_SHA}\b)")
# Prose after a citation may not point at something no reader can open: a file on some
# machine (an absolute path under a filesystem root, "~/x", "../x") or notes kept
# privately ("internal notes", "our notes"). A URL's own path ("/api/tags") is fine.
FILESYSTEM_ROOTS = ("home", "Users", "root", "tmp", "mnt", "srv", "opt", "var", "work")
UNPUBLISHED = re.compile(
    rf"(?:^|[\s(\"'])(?:~/|\.\./|/(?:{'|'.join(FILESYSTEM_ROOTS)})/)"
    r"|\b(?:research|internal|private|our|team)\s+notes?\b",
    re.I,
)


def is_citation(source: str) -> bool:
    """One source field: citations separated by " ; ", each optionally followed by a note."""
    parts = [part.strip() for part in source.split(" ; ")]
    return all(CITATION.match(part) for part in parts) and not UNPUBLISHED.search(source)


def _json_sources(value: object, key: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "config":  # the verbatim config.json is not ours to cite
                continue
            # {"sources": {"what it backs": "citation", ...}}: every value is a source.
            yield from _json_sources(v, "source" if key.endswith("sources") else k)
    elif isinstance(value, list):
        for item in value:
            yield from _json_sources(item, key)
    elif isinstance(value, str) and key.endswith(("source", "sources", "source_url")) and value:
        yield value


def sources_in(path: Path) -> list[str]:
    if path.suffix == ".json":
        return list(_json_sources(json.loads(path.read_text())))
    with path.open(newline="") as handle:
        return [row["source"] for row in csv.DictReader(handle) if row.get("source")]


def covered_files() -> list[Path]:
    found = [p for d in DATA_DIRS if d.exists() for p in sorted(d.rglob("*"))]
    return [p for p in found if any(p.relative_to(ROOT).match(g) for g in COVERED)]


def test_every_covered_pattern_names_files_that_exist():
    for pattern in COVERED:
        assert list(ROOT.glob(pattern)), pattern


@pytest.mark.parametrize("path", covered_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_source_is_a_url_or_a_repository_citation(path):
    sources = sources_in(path)
    if path.suffix == ".json":
        assert sources, f"{path.name} cites no source"
    bad = [s for s in sources if not is_citation(s)]
    assert bad == []


# Files whose every field is ours (no verbatim config.json): their notes are held to the
# rule too, not only their sources.
OURS_THROUGHOUT = ("calculator/data/reference/*.csv", "calculator/data/hardware.json",
                   "calculator/data/platforms.json", "calculator/data/builds.json")  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [p for g in OURS_THROUGHOUT for p in sorted(ROOT.glob(g))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_no_note_points_at_a_file_or_notes_nobody_can_open(path):
    assert UNPUBLISHED.findall(path.read_text()) == []


@pytest.mark.parametrize(
    "source",
    [
        "https://huggingface.co/Qwen/Qwen3-8B",
        "github:ggml-org/llama.cpp src/llama-arch.cpp @0c1e57098",
        "github:inference-sim/inference-sim@77abe3fb:model_configs/x/config.json (verbatim)",
        "https://a.example/x ; https://b.example/y",
        "https://a.example/x (the /api/tags JSON quoted there)",
        "github:o/r LLaMA 3/Gaming GPUs/3090_v3.ipynb @aa72e0ec86c356c41f8281c9733e9a13c3675800",
    ],
)
def test_citations_pass(source):
    assert is_citation(source)


@pytest.mark.parametrize(
    "source",
    [
        "internal notes, section 3.1",
        "/home/editor/models/notes.md",
        "https://ok.example/x (copied to ../drafts/models.md)",
        "github:ggml-org/llama.cpp benches/dgx-spark.md",
        "http://insecure.example/x",
        "https://ok.example/x ; see our notes",
        "Config of some model: https://huggingface.co/x",
    ],
)
def test_anything_else_fails(source):
    assert not is_citation(source)
