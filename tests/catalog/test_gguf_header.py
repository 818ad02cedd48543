"""A published file's GGUF header read with ranged requests from a loopback Hub: the
tensor list of a file written by llama.cpp's own gguf.GGUFWriter, split files included,
turned into the engine's weights breakdown."""

import numpy as np
import pytest
from gguf import GGUFReader, GGUFWriter
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

from calculator import services
from calculator.engine.quant import file_breakdown
from calculator.models import LlmModel
from catalog import gguf_header, gguf_services
from catalog.gguf_selectors import file_weights
from catalog.models import GgufFile, GgufRepository
from catalog.sources import Deadline
from tests.catalog.hub_server import FakeHub, listing

Q = GGMLQuantizationType
REPO = "someone/Tiny-MoE-GGUF"


def write_gguf(path, tensors, vocab=3000):
    """A small GGUF: a vocabulary (so the header spans several reads) and ``tensors``
    of (name, type, (row length, rows[, experts]))."""
    writer = GGUFWriter(str(path), "llama")
    writer.add_block_count(2)
    writer.add_token_list([f"token-{i:06d}" for i in range(vocab)])
    for name, kind, shape in tensors:
        block, size = GGML_QUANT_SIZES[kind]
        rows = int(np.prod(shape[1:]))
        if kind == Q.F32:
            writer.add_tensor(name, np.zeros(shape[::-1], dtype=np.float32))
        else:
            data = np.zeros((rows, shape[0] // block * size), dtype=np.uint8)
            writer.add_tensor(name, data, raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path.read_bytes()


TENSORS = [
    ("token_embd.weight", Q.Q4_K, (256, 512)),
    ("blk.0.attn_norm.weight", Q.F32, (256,)),
    ("blk.0.attn_q.weight", Q.Q6_K, (256, 256)),
    ("blk.0.ffn_up_exps.weight", Q.Q2_K, (256, 64, 8)),
    ("blk.1.ffn_down_exps.weight", Q.IQ2_XXS, (256, 64, 8)),
    ("output.weight", Q.Q8_0, (256, 512)),
]


@pytest.fixture
def hub(monkeypatch):
    server = FakeHub()
    server.thread.start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_the_header_parser_agrees_with_gguf_reader(tmp_path):
    blob = write_gguf(tmp_path / "m.gguf", TENSORS)
    reader = GGUFReader(tmp_path / "m.gguf")
    expected = [
        (t.name, int(t.tensor_type), tuple(int(d) for d in t.shape)) for t in reader.tensors
    ]
    assert gguf_header.parse_tensor_infos(blob) == expected


def test_a_short_prefix_asks_for_more_and_the_reader_grows_its_range(tmp_path):
    blob = write_gguf(tmp_path / "m.gguf", TENSORS)
    with pytest.raises(gguf_header.Truncated):
        gguf_header.parse_tensor_infos(blob[:1000])
    asked = []

    def fetch(n):
        asked.append(n)
        return blob[:n]

    infos = gguf_header.read_tensor_infos(fetch, first=256)
    assert len(infos) == len(TENSORS) and asked[0] == 256 and len(asked) > 2
    assert asked == sorted(asked)


@pytest.mark.parametrize("junk", [b"", b"GGML" + b"\0" * 60, b"GGUF\x07\0\0\0" + b"\0" * 60])
def test_what_is_not_a_gguf_header_says_so(junk):
    with pytest.raises((gguf_header.NotGguf, gguf_header.Truncated)):
        gguf_header.parse_tensor_infos(junk)


def test_a_published_files_header_is_read_by_ranged_requests_into_its_summary(
    hub, tmp_path, site_data
):
    first = write_gguf(tmp_path / "a.gguf", TENSORS[:3])
    second = write_gguf(tmp_path / "b.gguf", TENSORS[3:], vocab=10)
    paths = ["UD-Q2_K_XL/Tiny-UD-Q2_K_XL-00001-of-00002.gguf",
             "UD-Q2_K_XL/Tiny-UD-Q2_K_XL-00002-of-00002.gguf"]  # fmt: skip
    hub.publish(REPO, paths[0], first)
    hub.publish(REPO, paths[1], second)
    hub.serve(REPO, listing(REPO, {paths[0]: len(first), paths[1]: len(second)}))
    repo = GgufRepository.objects.create(
        repo_id=REPO, model=LlmModel.objects.get(slug="qwen3-30b-a3b")
    )
    run = gguf_services.gguf_sync_run(repository_id=repo.pk, deadline=Deadline(20)).run
    assert run.status == "succeeded" and run.headers_read == 1
    gguf = GgufFile.objects.get(repository=repo)
    expected = file_breakdown("UD-Q2_K_XL", [(n, int(k), s) for n, k, s in TENSORS])
    assert gguf.tensor_bytes == expected.total_bytes
    assert (gguf.expert_bytes, gguf.embedding_bytes, gguf.output_bytes) == (
        expected.expert_bytes,
        expected.token_embd_bytes,
        expected.output_bytes,
    )
    assert gguf.bytes_by_type == expected.by_type
    ranges = [r["headers"].get("Range") for r in hub.requests if "/resolve/" in r["path"]]
    assert ranges and all(r.startswith("bytes=0-") for r in ranges)
    # The engine then uses the file's own split, the whole file as its weights.
    weights = file_weights(services.architecture_of(repo.model), gguf)
    assert weights.weights.total_bytes == len(first) + len(second)
    assert weights.weights.expert_bytes == expected.expert_bytes
    assert "GGUF header" in weights.note


def test_a_header_that_cannot_be_read_is_noted_and_the_run_still_succeeds(hub, site_data):
    path = "Tiny-Q4_K_M.gguf"
    hub.publish(REPO, path, b"not a gguf at all" * 100)
    hub.serve(REPO, listing(REPO, {path: 1700}))
    repo = GgufRepository.objects.create(
        repo_id=REPO, model=LlmModel.objects.get(slug="qwen3-30b-a3b")
    )
    run = gguf_services.gguf_sync_run(repository_id=repo.pk, deadline=Deadline(20)).run
    assert run.status == "succeeded" and run.headers_read == 0
    assert "header not read" in run.errors[0]["error"]
    assert GgufFile.objects.get(repository=repo).header_read_at is None
