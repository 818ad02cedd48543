"""A published GGUF's tensor list from its first bytes (ranged reads), without the file.

llama.cpp's ``gguf`` package reads whole files (``GGUFReader`` memory-maps the file and
builds every tensor's data view), so the header is walked here with the package's own
constants (``GGUF_MAGIC``, ``GGUFValueType``, ``GGMLQuantizationType``): magic, version,
tensor and key/value counts, the key/value pairs (skipped over), then each tensor's name,
dimensions and type. A prefix too short for the whole tensor-info section raises
``Truncated`` with a size worth asking for next; the caller grows its ``Range`` until the
section is complete (``read_tensor_infos``).

A split file (``-00001-of-00005``) keeps each part's tensors in that part's own header,
so every part's header is read. The result feeds the engine's
:func:`calculator.engine.quant.file_breakdown`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from gguf.constants import GGUF_MAGIC, GGMLQuantizationType, GGUFValueType

from catalog.sources.base import SourceError

TensorInfo = tuple[str, int, tuple[int, ...]]  # name, GGML type id, dims (GGUF order)

FIRST_READ = 1 << 20  # 1 MiB: enough for small models' headers
MAX_HEADER = 64 << 20  # vocabularies of 250k tokens stay well under this
MAX_COUNT = 1 << 24
MAX_DIMS = 8

_SCALARS: dict[int, str] = {
    GGUFValueType.UINT8: "B", GGUFValueType.INT8: "b", GGUFValueType.UINT16: "H",
    GGUFValueType.INT16: "h", GGUFValueType.UINT32: "I", GGUFValueType.INT32: "i",
    GGUFValueType.FLOAT32: "f", GGUFValueType.BOOL: "?", GGUFValueType.UINT64: "Q",
    GGUFValueType.INT64: "q", GGUFValueType.FLOAT64: "d",
}  # fmt: skip


class Truncated(Exception):
    """The prefix ends inside the header; ``need`` bytes would be a reasonable next read."""

    def __init__(self, need: int) -> None:
        super().__init__(f"header continues past byte {need}")
        self.need = need


class NotGguf(SourceError):
    """The bytes are not a GGUF header this reader understands."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0
        self.order = "<"

    def take(self, n: int) -> bytes:
        end = self.at + n
        if end > len(self.data):
            raise Truncated(max(end, len(self.data) * 2))
        chunk = self.data[self.at : end]
        self.at = end
        return chunk

    def scalar(self, code: str) -> int | float | bool:
        fmt = self.order + code
        value: int | float | bool = struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
        return value

    def count(self, what: str) -> int:
        n = int(self.scalar("Q"))
        if n > MAX_COUNT:
            raise NotGguf(f"implausible {what} count {n}")
        return n

    def string(self) -> str:
        n = self.count("string length")
        return self.take(n).decode("utf-8", errors="replace")

    def skip_value(self, value_type: int, depth: int = 0) -> None:
        if value_type in _SCALARS:
            self.take(struct.calcsize(self.order + _SCALARS[value_type]))
        elif value_type == GGUFValueType.STRING:
            self.take(self.count("string length"))
        elif value_type == GGUFValueType.ARRAY and depth < 2:
            item_type = int(self.scalar("I"))
            n = self.count("array length")
            if item_type in _SCALARS:
                self.take(n * struct.calcsize(self.order + _SCALARS[item_type]))
            else:
                for _ in range(n):
                    self.skip_value(item_type, depth + 1)
        else:
            raise NotGguf(f"unknown metadata value type {value_type}")


def parse_tensor_infos(data: bytes) -> list[TensorInfo]:
    """Every tensor's (name, type id, dims) from a file's first bytes; ``Truncated`` when
    ``data`` ends before the tensor-info section does, ``NotGguf`` for anything else."""
    r = _Reader(data)
    if int.from_bytes(r.take(4), "little") != GGUF_MAGIC:
        raise NotGguf("no GGUF magic at the start of the file")
    version = int(r.scalar("I"))
    if version not in (2, 3):
        r.order = ">"  # a big-endian file reads its version byte-swapped
        version = struct.unpack(">I", data[4:8])[0]
        if version not in (2, 3):
            raise NotGguf(f"GGUF version {version} is not supported")
    n_tensors = r.count("tensor")
    n_kv = r.count("metadata")
    for _ in range(n_kv):
        r.string()
        r.skip_value(int(r.scalar("I")))
    tensors: list[TensorInfo] = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = int(r.scalar("I"))
        if not 0 < n_dims <= MAX_DIMS:
            raise NotGguf(f"tensor {name[:60]} has {n_dims} dimensions")
        dims = tuple(int(r.scalar("Q")) for _ in range(n_dims))
        type_id = int(r.scalar("I"))
        r.take(8)  # data offset
        try:
            GGMLQuantizationType(type_id)
        except ValueError:
            raise NotGguf(f"tensor {name[:60]} has unknown type {type_id}") from None
        tensors.append((name, type_id, dims))
    return tensors


def read_tensor_infos(
    fetch: Callable[[int], bytes], *, first: int = FIRST_READ
) -> list[TensorInfo]:
    """Grow the prefix asked of ``fetch(n)`` (first ``n`` bytes) until the header parses."""
    size = first
    while True:
        data = fetch(size)
        try:
            return parse_tensor_infos(data)
        except Truncated as short:
            if len(data) < size:
                raise NotGguf("the file ends inside its header") from None
            if size >= MAX_HEADER:
                raise NotGguf(f"header larger than {MAX_HEADER:,} bytes") from None
            size = min(MAX_HEADER, max(short.need, size * 2))
