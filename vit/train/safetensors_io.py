"""Reads and writes safetensors files with nothing but the standard library and torch.

The container: an 8-byte little-endian header length, a JSON header mapping each tensor
name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets from the end of the
header) and an optional "__metadata__" dict of strings, then the raw little-endian bytes.
ringvit keeps its model config (JSON) in __metadata__["ringvit"].
"""
import json
import struct

import torch

_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
_NAMES = {v: k for k, v in _DTYPES.items()}
# dtypes numpy cannot hold are moved as raw bytes through an integer view of equal width
_RAW = {torch.bfloat16: torch.int16, torch.float16: torch.int16}


def _to_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype in _RAW:
        t = t.view(_RAW[t.dtype])
    return t.numpy().tobytes()


def save(path, tensors, metadata=None):
    """Writes {name: tensor} with optional {str: str} metadata."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype not in _NAMES:
            raise ValueError(f"tensor {name!r}: dtype {t.dtype} has no safetensors name")
        blob = _to_bytes(t)
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # keep the data 8-byte aligned, as other writers do
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def load(path):
    """Returns ({name: tensor}, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for safetensors")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: header length {n} runs past the end of the file")
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    out = {}
    for name, e in header.items():
        dt = _DTYPES.get(e["dtype"])
        if dt is None:
            raise ValueError(f"tensor {name!r}: unsupported dtype {e['dtype']}")
        b, end = e["data_offsets"]
        raw = bytearray(data[base + b:base + end])
        view_dt = _RAW.get(dt, dt)
        t = torch.frombuffer(raw, dtype=view_dt) if raw else torch.empty(0, dtype=view_dt)
        out[name] = t.view(dt).reshape(e["shape"]).clone()
    return out, meta
