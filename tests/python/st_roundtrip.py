#!/usr/bin/python3
"""Python side of the safetensors interop test (numpy + json + struct; torch only for bf16).

    st_roundtrip.py write PATH            write the fixture the way the official writer does
    st_roundtrip.py check PATH            check a fixture written by C (test_safetensors write-fixture)
    st_roundtrip.py py-to-c EXE DIR       ctest st_py_to_c: we write, `EXE check-fixture` reads
    st_roundtrip.py c-to-py EXE DIR       ctest st_c_to_py: `EXE write-fixture` writes, we check

FIXTURE must match fixture_write/fixture_check in tests/test_safetensors.c. Any missing module
(numpy, torch) is an import error, so the ctest entry fails rather than skips.
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch

INF = float("inf")
NOTE = 'h\u00e9llo "quoted" \\ back\nslash \u2713'
META = {"format": "pt", "note": NOTE}
# name -> (dtype, numpy dtype or None for bf16, shape, values); insertion order = file order
FIXTURE = {
    "f32": ("F32", np.float32, [2, 3], [i * 0.5 - 1 for i in range(6)]),
    "f64": ("F64", np.float64, [4], list(np.arange(4, dtype=np.float64) / 3.0)),
    "i64": ("I64", np.int64, [3], [-(2**40), 0, 2**53 + 1]),
    "u8": ("U8", np.uint8, [5], [0, 1, 127, 128, 255]),
    "bf16": ("BF16", None, [2, 2], [1.0, -2.5, 0.15625, INF]),
    "f16": ("F16", np.float16, [3], [1.0, -0.5, 65504.0]),
    "i32": ("I32", np.int32, [2], [-7, 2147483647]),
    "i16": ("I16", np.int16, [2], [-32768, 12345]),
    "i8": ("I8", np.int8, [3], [-128, 0, 127]),
    "bool": ("BOOL", np.bool_, [4], [True, False, False, True]),
    "scalar": ("F32", np.float32, [], [42.5]),
    "empty": ("F32", np.float32, [0, 3], []),
    "na\u00efve.w\u00e9ight": ("F32", np.float32, [1], [3.25]),
}


def to_bytes(dtype, npdt, shape, values):
    if dtype == "BF16":  # numpy has no bfloat16: round through torch, keep the raw 16-bit words
        return torch.tensor(values, dtype=torch.bfloat16).reshape(shape).view(torch.int16).numpy().tobytes()
    return np.array(values, dtype=npdt).reshape(shape).tobytes()


def write(path):
    header, blobs, off = {"__metadata__": META}, [], 0
    for name, (dtype, npdt, shape, values) in FIXTURE.items():
        raw = to_bytes(dtype, npdt, shape, values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()  # ensure_ascii: the C side must decode \u escapes
    h += b" " * (-len(h) % 8)  # the official writer pads the header to 8 bytes with spaces
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def check(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    assert n % 8 == 0, f"header length {n} is not a multiple of 8"
    text = data[8:8 + n].decode("utf-8")
    assert text.rstrip(" ").endswith("}") and text.startswith("{"), "header is not an object padded with spaces"
    header = json.loads(text)
    assert header.pop("__metadata__") == META, "metadata differs"
    buf = data[8 + n:]
    assert list(header) == list(FIXTURE), f"tensor names/order differ: {list(header)}"
    off = 0
    for name, (dtype, npdt, shape, values) in FIXTURE.items():
        info = header[name]
        assert set(info) == {"dtype", "shape", "data_offsets"}, f"{name}: fields {sorted(info)}"
        assert info["dtype"] == dtype and info["shape"] == shape, f"{name}: {info}"
        b, e = info["data_offsets"]
        assert b == off, f"{name}: begins at {b}, expected {off} (tensors must be contiguous)"
        off = e
        if dtype == "BF16":
            words = np.frombuffer(buf[b:e], dtype=np.int16).copy()
            got = torch.from_numpy(words).view(torch.bfloat16).float().numpy().reshape(shape)
            want = np.array(values, dtype=np.float32).reshape(shape)
        else:
            got = np.frombuffer(buf[b:e], dtype=npdt).reshape(shape)
            want = np.array(values, dtype=npdt).reshape(shape)
        assert got.shape == want.shape and np.array_equal(got, want), f"{name}: {got} != {want}"
    assert off == len(buf), f"buffer has {len(buf)} bytes, tensors cover {off}"
    print(f"check {path}: {len(FIXTURE)} tensors and metadata OK")


def main(argv):
    if len(argv) == 3 and argv[1] == "write":
        write(argv[2])
    elif len(argv) == 3 and argv[1] == "check":
        check(argv[2])
    elif len(argv) == 4 and argv[1] in ("py-to-c", "c-to-py"):
        exe, d = argv[2], argv[3]
        os.makedirs(d, exist_ok=True)
        if argv[1] == "py-to-c":
            path = os.path.join(d, "from_python.safetensors")
            write(path)
            subprocess.run([exe, "check-fixture", path], check=True)
        else:
            path = os.path.join(d, "from_c.safetensors")
            subprocess.run([exe, "write-fixture", path], check=True)
            check(path)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
