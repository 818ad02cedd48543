"""Quant labels from file and folder names, and split files grouped into one download."""

import pytest

from catalog.gguf_names import group_downloads, quant_label


@pytest.mark.parametrize(
    "path, label",
    [
        ("DeepSeek-R1-UD-IQ1_S/DeepSeek-R1-UD-IQ1_S-00001-of-00003.gguf", "UD-IQ1_S"),
        ("UD-Q2_K_XL/DeepSeek-V3.1-UD-Q2_K_XL-00002-of-00006.gguf", "UD-Q2_K_XL"),
        ("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "Q4_K_M"),
        ("Llama-3.3-70B-Instruct-Q4_0_8_8.gguf", "Q4_0_8_8"),
        ("qwen2.5-coder-7b-instruct-q4_0.gguf", "Q4_0"),
        ("openai.gpt-oss-20b.f16.gguf", "F16"),
        ("gpt-oss-120b-mxfp4-00001-of-00003.gguf", "MXFP4"),
        ("Qwen3-30B-A3B-Instruct-2507-IQ3_S-2.69bpw.gguf", "IQ3_S-2.69bpw"),
        ("BF16/model-00001-of-00030.gguf", "BF16"),  # only the folder says
        ("Qwen3-8B.gguf", None),
    ],
)
def test_the_label_comes_from_the_name_else_the_folder(path, label):
    assert quant_label(path) == label


def test_parts_group_into_one_download_with_their_total():
    entries = [(f"Q2/m-UD-Q2_K_XL-0000{i}-of-00003.gguf", 10 * i) for i in (3, 1, 2)]
    downloads, skipped = group_downloads([*entries, ("README.md", 5)])
    (d,) = downloads
    assert (d.label, d.part_count, d.total_bytes, skipped) == ("UD-Q2_K_XL", 3, 60, [])
    assert d.path == "Q2/m-UD-Q2_K_XL-00001-of-00003.gguf"


def test_a_missing_part_or_size_leaves_the_total_unknown():
    (d,), _ = group_downloads([("m-Q4_K_M-00001-of-00002.gguf", 10)])
    assert not d.complete and d.total_bytes is None and d.problems == ["1 of 2 parts listed"]
    (e,), _ = group_downloads([("m-Q8_0.gguf", None)])
    assert e.total_bytes is None


def test_projectors_and_importance_matrices_are_not_downloads_of_the_model():
    downloads, _ = group_downloads(
        [("mmproj-model-f16.gguf", 1), ("gemma-3-27b-it.mmproj-Q8_0.gguf", 1), ("imatrix.gguf", 1)]
    )
    assert downloads == []


def test_two_downloads_of_one_label_keep_the_complete_one_in_its_folder():
    downloads, skipped = group_downloads(
        [
            ("m-Q4_K_M.gguf", 100),
            ("Q4_K_M/m-Q4_K_M-00001-of-00002.gguf", 50),
            ("Q4_K_M/m-Q4_K_M-00002-of-00002.gguf", 50),
            ("old/m-Q8_0-00001-of-00002.gguf", 50),
            ("Q8_0/m-Q8_0.gguf", 90),
        ]
    )
    chosen = {d.label: d.path for d in downloads}
    assert chosen == {"Q4_K_M": "Q4_K_M/m-Q4_K_M-00001-of-00002.gguf", "Q8_0": "Q8_0/m-Q8_0.gguf"}
    assert len(skipped) == 2


def test_junk_names_are_skipped_with_a_reason():
    downloads, skipped = group_downloads(
        [("m-Q4_K_M-00003-of-00002.gguf", 1), ("x" * 600 + ".gguf", 1), ("plain.gguf", 1)]
    )
    assert downloads == [] and len(skipped) == 3
