"""Minimal safetensors read/write with numpy + json (the format is simple enough to need no
library; Debian has no python3-safetensors). bf16 goes through torch."""
import json
import struct

import numpy as np

_NP = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
       "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_ST = {np.dtype(v): k for k, v in _NP.items()}


def save(path, tensors, metadata=None):
    """tensors: dict name -> numpy array (or torch tensor; bf16 kept as BF16)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, arr in tensors.items():
        if hasattr(arr, "detach"):  # torch tensor
            import torch
            t = arr.detach().cpu().contiguous()
            if t.dtype == torch.bfloat16:
                raw, dt = t.view(torch.int16).numpy().tobytes(), "BF16"
            else:
                a = t.numpy()
                raw, dt = a.tobytes(), _ST[a.dtype]
            shape = list(t.shape)
        else:
            a = np.ascontiguousarray(arr)
            raw, dt, shape = a.tobytes(), _ST[a.dtype], list(a.shape)
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """Returns (dict name -> numpy array (bf16 as float32), metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    buf = data[8 + n:]
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        if info["dtype"] == "BF16":
            import torch
            raw = np.frombuffer(buf[b:e], dtype=np.int16).copy()
            out[name] = torch.from_numpy(raw).view(torch.bfloat16).float().numpy().reshape(info["shape"])
        else:
            out[name] = np.frombuffer(buf[b:e], dtype=_NP[info["dtype"]]).reshape(info["shape"]).copy()
    return out, meta
