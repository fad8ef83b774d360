"""`modelcache inspect`: the safetensors tensor table of a path or of a cached
model (no network), and one-line errors for corrupt files. The files are written
by hand here (8-byte little-endian header length, JSON header, data) with the
standard library's struct, so the test needs no safetensors package."""
import json
import struct
from pathlib import Path

from conftest import assert_cache_valid, sha256_file

# dtype -> struct format of one element
FORMATS = {"F32": "f", "I64": "q", "U8": "B", "F16": "e", "I32": "i"}


def write_safetensors(path, tensors, metadata=None):
    """tensors: [(name, dtype, shape, [values])] in data order."""
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, values in tensors:
        raw = struct.pack("<%d%s" % (len(values), FORMATS[dtype]), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


TENSORS = [
    ("model.embed.weight", "F32", [2, 3], [0.5, 1, 2, 3, 4, 5]),
    ("model.head.bias", "I64", [2], [-7, 1 << 40]),
    ("model.scale", "F16", [], [1.5]),
    ("model.mask", "U8", [4], [1, 0, 1, 1]),
]


def expected_rows():
    size = {"F32": 4, "I64": 8, "U8": 1, "F16": 2}
    return sorted(({"name": n, "dtype": d, "shape": s, "bytes": len(v) * size[d]} for n, d, s, v in TENSORS),
                  key=lambda r: r["name"])


def rows(out):
    return [{k: t[k] for k in ("name", "dtype", "shape", "bytes")} for t in out["tensors"]]


def test_inspect_cached_ref(mc, tmp_path):
    src = tmp_path / "src"
    write_safetensors(src / "model.safetensors", TENSORS, {"format": "pt"})
    (src / "config.json").write_text('{"model_type": "toy"}')
    pulled = mc.pull_json(f"file://{src}")
    snap = Path(pulled["path"])
    assert sha256_file(snap / "model.safetensors") == sha256_file(src / "model.safetensors")

    r = mc.run("inspect", f"file://{src}", "--json", check=True)
    out = json.loads(r.stdout)
    assert rows(out) == expected_rows()
    assert out["metadata"] == {"format": "pt"}
    assert out["tensor_count"] == 4 and out["tensor_bytes"] == 24 + 16 + 2 + 4
    assert out["file_bytes"] == (src / "model.safetensors").stat().st_size
    # The snapshot in the cache is what was read, not the origin.
    assert Path(out["files"][0]).parent == snap

    table = mc.run("inspect", f"file://{src}", check=True).stdout.splitlines()
    assert table[0].split() == ["TENSOR", "DTYPE", "SHAPE", "BYTES"]
    assert table[1].split() == ["model.embed.weight", "F32", "[2,", "3]", "24"]
    assert table[-1].startswith("4 tensors, 46 bytes") and table[-1].endswith("in 1 file")
    assert_cache_valid(mc.home)


def test_inspect_sharded_ref(mc, tmp_path):
    src = tmp_path / "src"
    write_safetensors(src / "model-00001-of-00002.safetensors", TENSORS[:2], {"format": "pt"})
    write_safetensors(src / "model-00002-of-00002.safetensors", TENSORS[2:], {"format": "pt"})
    weight_map = {n: "model-00001-of-00002.safetensors" for n, *_ in TENSORS[:2]}
    weight_map.update({n: "model-00002-of-00002.safetensors" for n, *_ in TENSORS[2:]})
    (src / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": 46}, "weight_map": weight_map}))
    mc.pull_json(f"file://{src}")
    out = json.loads(mc.run("inspect", f"file://{src}", "--json", check=True).stdout)
    assert rows(out) == expected_rows()
    assert sorted(Path(f).name for f in out["files"]) == ["model-00001-of-00002.safetensors",
                                                          "model-00002-of-00002.safetensors"]
    by_name = {t["name"]: t["file"] for t in out["tensors"]}
    assert by_name["model.scale"] == "model-00002-of-00002.safetensors"
    # One shard by name, through --file.
    one = json.loads(mc.run("inspect", f"file://{src}", "--file", "model-00002-of-00002.safetensors",
                            "--json", check=True).stdout)
    assert [t["name"] for t in one["tensors"]] == ["model.mask", "model.scale"]
    # A checkpoint in a folder of the snapshot (diffusers-style), through --file.
    write_safetensors(src / "unet" / "diffusion_pytorch_model.safetensors", TENSORS[:1])
    mc.pull_json(f"file://{src}")
    unet = json.loads(mc.run("inspect", f"file://{src}", "--file", "unet", "--json", check=True).stdout)
    assert [t["name"] for t in unet["tensors"]] == ["model.embed.weight"]
    assert_cache_valid(mc.home)


def test_inspect_path_and_corrupt_files(mc, tmp_path):
    good = write_safetensors(tmp_path / "good.safetensors", TENSORS)
    out = json.loads(mc.run("inspect", good, "--json", check=True).stdout)
    assert rows(out) == expected_rows()

    # Offsets past the end of the data section.
    data = bytearray(good.read_bytes())
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header["model.mask"]["data_offsets"] = [42, 4242]
    text = json.dumps(header).encode()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(struct.pack("<Q", len(text)) + text + bytes(data[8 + n:]))
    r = mc.run("inspect", bad)
    assert r.returncode != 0
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("modelcache: error: ") and str(bad) in lines[0]
    assert "tensor 'model.mask': data_offsets [42, 4242] run past the data section (46 bytes)" in lines[0]

    # Truncated: the header length says more than the file holds.
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(good.read_bytes()[:20])
    r = mc.run("inspect", cut)
    assert r.returncode != 0 and "runs past the end of the file (20 bytes)" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1

    # Not JSON at all.
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(struct.pack("<Q", 4) + b"{abc")
    r = mc.run("inspect", junk)
    assert r.returncode != 0 and "header: not valid JSON" in r.stderr


def test_inspect_corrupt_cached_file_keeps_the_cache(mc, tmp_path):
    src = tmp_path / "src"
    write_safetensors(src / "model.safetensors", TENSORS)
    raw = bytearray((src / "model.safetensors").read_bytes())
    raw[8:9] = b"["  # the header no longer starts with '{'
    (src / "model.safetensors").write_bytes(bytes(raw))
    pulled = mc.pull_json(f"file://{src}")
    r = mc.run("inspect", f"file://{src}")
    assert r.returncode != 0
    assert "model.safetensors: header must be a JSON object" in r.stderr
    # Inspect only reads: the snapshot and its file are still there and valid.
    assert sha256_file(Path(pulled["path"]) / "model.safetensors") == sha256_file(src / "model.safetensors")
    assert mc.run("path", f"file://{src}", check=True).stdout.strip() == pulled["path"]
    assert_cache_valid(mc.home)


def test_inspect_needs_the_model_in_the_cache(mc, tmp_path):
    src = tmp_path / "src"
    write_safetensors(src / "model.safetensors", TENSORS)
    r = mc.run("inspect", f"file://{src}")
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1
    assert "modelcache: error:" in r.stderr
    # Neither a path nor a reference.
    r = mc.run("inspect", tmp_path / "missing.safetensors")
    assert r.returncode != 0 and "no such file" in r.stderr
    # A model without safetensors files.
    other = tmp_path / "other"
    other.mkdir()
    (other / "weights.bin").write_bytes(b"x" * 10)
    mc.pull_json(f"file://{other}")
    r = mc.run("inspect", f"file://{other}")
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1
