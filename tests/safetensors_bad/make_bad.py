#!/usr/bin/python3
"""Generate the regression corpus of hostile safetensors files.

Each file is one defect; expected.txt maps file name -> a substring the C reader's error must
contain (test_safetensors checks it; fuzz_safetensors_corpus replays the files under the
sanitizers). Run from anywhere: files are written next to this script. The generated files are
committed, so the tests do not need this script.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = []  # (file name, expected substring)


def raw(name, data, expect):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)
    CASES.append((name, expect))


def st(name, header, data=b"", expect="", hlen=None):
    """header: a dict (dumped compactly) or bytes used verbatim; hlen overrides the length field."""
    h = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    raw(name, struct.pack("<Q", len(h) if hlen is None else hlen) + h + data, expect)


def t(dtype="F32", shape=(1,), offs=(0, 4)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offs)}


F4 = b"\0\0\x80\x3f"  # 1.0f

# --- the 8-byte length
raw("short.safetensors", b"\x05\0\0\0\0", "too short")
raw("empty.safetensors", b"", "too short")
st("hdr_zero.safetensors", b"", expect="header length is 0")
st("hdr_huge.safetensors", b"{}", expect="exceeds the limit", hlen=2**64 - 1)
st("hdr_over_limit.safetensors", b"{}", expect="exceeds the limit", hlen=100_000_001)
st("hdr_past_eof.safetensors", b"{}      ", expect="larger than the rest of the file", hlen=1000)

# --- the header text
st("not_json.safetensors", b'{"a":', expect="not valid JSON")
st("not_json_garbage.safetensors", b"\xef\xbb\xbf{}", expect="not valid JSON")  # a UTF-8 BOM
st("not_object.safetensors", b"[1,2]   ", expect="not a JSON object")
st("not_object_string.safetensors", b'"abc"   ', expect="not a JSON object")
st("bad_utf8.safetensors", b'{"\xff":{}}', expect="not valid UTF-8")
st("bad_utf8_overlong.safetensors", b'{"\xc0\xaf":{}}', expect="not valid UTF-8")
st("bad_utf8_surrogate.safetensors", b'{"\xed\xa0\x80":{}}', expect="not valid UTF-8")
st("trailing_garbage.safetensors", b"{}  x", expect="trailing bytes")
st("trailing_newline.safetensors", b"{}\n", expect="trailing bytes")
st("trailing_second_object.safetensors", b"{} {}", expect="trailing bytes")
st("nul_in_header.safetensors", b"{}\0     ", expect="control character")
st("nul_in_name.safetensors", b'{"a\0b":' + json.dumps(t()).encode() + b"}", F4, "control character")
st("escaped_nul_in_name.safetensors", b'{"a\\u0000b":' + json.dumps(t()).encode() + b"}", F4, "\\u0000")
st("ctrl_outside_string.safetensors", b"{\x01}", expect="control character")

# --- entries
st("entry_not_object.safetensors", {"a": 5}, expect="tensor 'a': entry is not an object")
st("entry_array.safetensors", {"a": [1, 2]}, expect="tensor 'a': entry is not an object")
st("missing_dtype.safetensors", {"a": {"shape": [1], "data_offsets": [0, 4]}}, F4, "tensor 'a': missing field 'dtype'")
st("missing_shape.safetensors", {"a": {"dtype": "F32", "data_offsets": [0, 4]}}, F4, "tensor 'a': missing field 'shape'")
st("missing_offsets.safetensors", {"a": {"dtype": "F32", "shape": [1]}}, F4, "missing field 'data_offsets'")
st("extra_field.safetensors", {"a": dict(t(), foo=1)}, F4, "tensor 'a': unknown field 'foo'")
st("duplicate_field.safetensors", b'{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', F4,
   "tensor 'a': duplicate field 'dtype'")
st("empty_name.safetensors", {"": t()}, F4, "empty tensor name")

# --- dtype
st("dtype_not_string.safetensors", {"a": dict(t(), dtype=3)}, F4, "tensor 'a': dtype is not a string")
st("dtype_unknown.safetensors", {"a": t(dtype="F7")}, F4, "unknown dtype 'F7' for tensor 'a'")
st("dtype_lowercase.safetensors", {"a": t(dtype="f32")}, F4, "unknown dtype 'f32' for tensor 'a'")

# --- shape
st("shape_not_array.safetensors", {"a": dict(t(), shape=4)}, F4, "tensor 'a': shape is not an array")
st("shape_float.safetensors", {"a": t(shape=[2.5])}, F4, "tensor 'a': shape[0] = 2.5 is not a non-negative integer")
st("shape_negative.safetensors", {"a": t(shape=[-1])}, F4, "tensor 'a': shape[0] = -1 is not a non-negative")
st("shape_huge.safetensors", {"a": t(shape=[2**60])}, F4, "below 2^53")
st("shape_2pow53.safetensors", {"a": t(shape=[2**53])}, F4, "below 2^53")
st("shape_string.safetensors", {"a": t(shape=["1"])}, F4, "shape[0] (a string) is not")
st("shape_too_many_dims.safetensors", {"a": t(shape=[1] * 9)}, F4, "more than 8 dims")
st("shape_2_0.safetensors", b'{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', F4,
   "number '1.0' (byte")
st("shape_exponent.safetensors", b'{"a":{"dtype":"F32","shape":[1e0],"data_offsets":[0,4]}}', F4, "number '1e0'")
st("shape_minus_zero.safetensors", b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[-0,4]}}', F4, "number '-0'")

# --- data_offsets
st("offsets_not_array.safetensors", {"a": dict(t(), data_offsets=4)}, F4, "data_offsets is not an array")
st("offsets_one.safetensors", {"a": t(offs=[4])}, F4, "exactly two integers")
st("offsets_three.safetensors", {"a": t(offs=[0, 4, 4])}, F4, "exactly two integers")
st("offsets_negative.safetensors", {"a": t(offs=[-4, 0])}, F4, "data_offsets[0] = -4 is not")
st("offsets_float.safetensors", {"a": t(offs=[0, 4.5])}, F4, "data_offsets[1] = 4.5 is not")
st("offsets_reversed.safetensors", {"a": t(shape=[0], offs=[4, 0])}, F4, "begin > end")
st("offsets_out_of_range.safetensors", {"a": t(shape=[2], offs=[0, 8])}, F4, "tensor 'a': data_offsets [0, 8] out of range")
st("offsets_huge.safetensors", {"a": t(offs=[0, 2**64])}, F4, "below 2^53")

# --- sizes
st("numel_overflow.safetensors", {"a": t(dtype="F64", shape=[2**31, 2**31, 2**31], offs=[0, 8])}, b"\0" * 8,
   "overflows a 64-bit byte count")
st("bytes_overflow.safetensors", {"a": t(dtype="F64", shape=[2**62 // 2**31, 2**31], offs=[0, 8])}, b"\0" * 8,
   "overflows")
st("size_mismatch.safetensors", {"a": t(shape=[2, 3], offs=[0, 12])}, b"\0" * 12, "span 12 bytes but F32 [2, 3] needs 24")
st("scalar_wrong_size.safetensors", {"a": t(shape=[], offs=[0, 8])}, b"\0" * 8, "needs 4")
st("zero_size_with_bytes.safetensors", {"a": t(shape=[0, 3], offs=[0, 4])}, F4, "needs 0")

# --- layout
st("overlap.safetensors", {"a": t(shape=[2], offs=[0, 8]), "b": t(shape=[1], offs=[4, 8])}, b"\0" * 8, "overlap")
st("overlap_same.safetensors", {"a": t(), "b": t()}, F4, "overlap")
st("overlap_zero_inside.safetensors", {"a": t(shape=[2], offs=[0, 8]), "z": t(shape=[0], offs=[4, 4])}, b"\0" * 8,
   "overlap")
st("gap.safetensors", {"a": t(offs=[0, 4]), "b": t(offs=[8, 12])}, b"\0" * 12, "data not fully covered")
st("gap_at_start.safetensors", {"a": t(offs=[4, 8])}, b"\0" * 8, "data not fully covered")
st("trailing_data.safetensors", {"a": t()}, F4 + b"junk", "data not fully covered")
st("no_tensors_with_data.safetensors", {}, b"\0" * 4, "data not fully covered")
st("duplicate_name.safetensors",
   b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
   b"\0" * 8, "duplicate tensor name 'a'")

# --- metadata
st("metadata_not_object.safetensors", {"__metadata__": "x", "a": t()}, F4, "\"__metadata__\" is not an object")
st("metadata_value_number.safetensors", {"__metadata__": {"k": 1}, "a": t()}, F4,
   "\"__metadata__\" value for 'k' is not a string")
st("metadata_value_null.safetensors", {"__metadata__": {"k": None}, "a": t()}, F4, "value for 'k' is not a string")
st("metadata_duplicate.safetensors", b'{"__metadata__":{},"__metadata__":{}}', expect="duplicate \"__metadata__\"")
st("metadata_duplicate_key.safetensors", b'{"__metadata__":{"k":"1","k":"2"}}', expect="duplicate key 'k'")

with open(os.path.join(HERE, "expected.txt"), "w") as f:
    f.write("# file<TAB>substring the reader's error must contain (generated by make_bad.py)\n")
    for name, expect in CASES:
        assert "\t" not in expect and "\n" not in expect
        f.write(f"{name}\t{expect}\n")
print(f"wrote {len(CASES)} bad files to {HERE}")
