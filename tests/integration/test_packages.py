"""Model packages (doc/PACKAGES.md): `resolve --explain`, `pull --package auto|ID`
fetching only the chosen package's files, clear errors, and the decision cache
(warm path with the origin stopped, TTL, off switch, purge, no token on disk).
Runs against the Hub fixture (tests/fixtures/hf_fixture.py) and a local dir."""
import json
import os
import time
from pathlib import Path

import pytest

from conftest import assert_cache_valid, sha256_file, write_random

TOKEN = "hf_package_token_0123456789abcdef"
# Deterministic machine facts: a CPU with avx2 and no GPU, unless a test says otherwise.
CPU = {"MODELCACHE_FAKE_GPU": "none", "MODELCACHE_FAKE_CPU_FEATURES": "avx2,fma"}
AMPERE = {"MODELCACHE_FAKE_GPU": "8.6", "MODELCACHE_FAKE_CPU_FEATURES": "avx2,fma"}

MANIFEST = {
    "format": 1,
    "shared_files": ["config.json", "tokenizer/*"],
    "packages": [
        {"id": "onnx-fp32", "backend": "onnx", "quantization": "fp32",
         "files": ["onnx/model.fp32.onnx"], "batch_size": {"min": 1, "max": 64},
         "device": {"cpu_features": ["avx2"]}},
        {"id": "onnx-fp16", "backend": "onnx", "quantization": "fp16",
         "files": ["onnx/model.fp16.onnx"], "batch_size": {"min": 1, "max": 32},
         "device": {"cuda": {"min_compute_capability": "7.0"}}},
        {"id": "st-bf16", "backend": "safetensors", "quantization": "bf16", "files": ["*.safetensors"]},
        {"id": "trt-fp16", "backend": "trt", "quantization": "fp16", "files": ["trt/model.plan"],
         "batch_size": {"static": 1},
         "device": {"cuda": {"min_compute_capability": "8.0", "max_compute_capability": "9.0"}}},
    ],
}
ALL_FILES = ["config.json", "tokenizer/vocab.txt", "onnx/model.fp32.onnx", "onnx/model.fp16.onnx",
             "model.safetensors", "trt/model.plan", "modelcache-packages.json"]
SHARED = ["config.json", "modelcache-packages.json", "tokenizer/vocab.txt"]


def make_model(repo, manifest=MANIFEST):
    repo = Path(repo)
    (repo / "tokenizer").mkdir(parents=True, exist_ok=True)
    (repo / "config.json").write_text('{"hidden_size": 8}\n')
    (repo / "tokenizer" / "vocab.txt").write_text("a\nb\n")
    write_random(repo / "onnx" / "model.fp32.onnx", 3 << 20, seed=41)  # LFS (> 1 MiB)
    write_random(repo / "onnx" / "model.fp16.onnx", (3 << 20) // 2, seed=42)
    write_random(repo / "model.safetensors", 200_000, seed=43)
    write_random(repo / "trt" / "model.plan", 100_000, seed=44)
    if manifest is not None:
        text = manifest if isinstance(manifest, str) else json.dumps(manifest, indent=1)
        (repo / "modelcache-packages.json").write_text(text)
    return repo


@pytest.fixture
def hub(tmp_path, fixture_factory):
    root = tmp_path / "hub"
    make_model(root / "org" / "multi")
    make_model(root / "org" / "plain", manifest=None)
    bad = dict(MANIFEST, packages=MANIFEST["packages"] + [dict(MANIFEST["packages"][0])])
    make_model(root / "org" / "dupid", manifest=bad)
    make_model(root / "org" / "notjson", manifest="{not json")

    def start(*extra):
        return fixture_factory("hf_fixture.py", "--root", root, "--lfs-threshold", "1048576", *extra)

    start.root = root
    return start


def env(h, machine=CPU, **extra):
    return {"HF_ENDPOINT": h.url, **machine, **extra}


def fetched_paths(h, repo="org/multi"):
    """Files whose bytes came from the hub's resolve route."""
    out = set()
    for e in h.log():
        marker = f"/{repo}/resolve/"
        if e["method"] == "GET" and marker in e["path"]:
            out.add(e["path"].split(marker, 1)[1].split("/", 1)[1].split("?")[0])
    return out


def snapshot_files(path):
    path = Path(path)
    return sorted(str(p.relative_to(path)) for p in path.rglob("*") if not p.is_dir())


def entries(dir_):
    d = Path(dir_)
    return sorted(d.glob("*.json")) if d.exists() else []


def one_line_error(r):
    assert r.returncode != 0, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_resolve_explain_shows_every_candidate_and_the_machine(mc, hub):
    h = hub()
    r = mc.run("resolve", "hf://org/multi", "--explain", env=env(h), check=True)
    out = r.stdout
    assert "machine: cpu features avx2,fma; cuda gpus none (MODELCACHE_FAKE_CPU_FEATURES+MODELCACHE_FAKE_GPU)" in out
    assert "#1 onnx-fp32 kept: onnx fp32, batch 1..64, CPU" in out
    assert "#2 st-bf16 kept: safetensors bf16, any batch, CPU" in out
    assert ("-  onnx-fp16 dropped: needs a CUDA GPU with compute capability >= 7.0, none found") in out
    assert ("-  trt-fp16 dropped: needs a CUDA GPU with compute capability 8.0..9.0, none found") in out
    assert out.strip().splitlines()[-1] == "chosen: onnx-fp32 (4 files)"
    # Plain output: the winner only. A GPU in range puts the TensorRT engine first.
    assert mc.run("resolve", "hf://org/multi", env=env(h), check=True).stdout.strip() == "onnx-fp32"
    j = json.loads(mc.run("resolve", "hf://org/multi", "--json", env=env(h, AMPERE), check=True).stdout)
    assert j["package"] == "trt-fp16"
    assert [(c["id"], c["rank"]) for c in j["candidates"] if c["kept"]] == [
        ("trt-fp16", 1), ("onnx-fp16", 2), ("onnx-fp32", 3), ("st-bf16", 4)]
    assert j["files"] == sorted(SHARED + ["trt/model.plan"])
    assert j["machine"]["gpus"] == ["8.6"]
    # Requested order and batch size filter and re-rank.
    j = json.loads(mc.run("resolve", "hf://org/multi", "--json", "--backend", "safetensors,onnx",
                          "--quantization", "fp16", "--quantization", "bf16", "--batch-size", "48",
                          env=env(h, AMPERE), check=True).stdout)
    kept = [c["id"] for c in j["candidates"] if c["kept"]]
    assert kept == ["st-bf16"], j["candidates"]
    reasons = {c["id"]: c["reason"] for c in j["candidates"] if not c["kept"]}
    assert reasons["onnx-fp16"] == "batch size 48 does not fit its batch 1..32"
    assert reasons["onnx-fp32"] == "quantization fp32 not requested (--quantization fp16,bf16)"
    assert reasons["trt-fp16"] == "backend trt not requested (--backend safetensors,onnx)"
    # resolve fetched the manifest only, and wrote no decision.
    assert fetched_paths(h) == {"modelcache-packages.json"}
    assert entries(mc.home / "resolution-cache") == []
    assert_cache_valid(mc.home)


def test_pull_auto_fetches_only_the_chosen_package(mc, hub):
    h = hub()
    out = mc.pull_json("hf://org/multi", "--package", "auto", env=env(h))
    assert out["package"] == "onnx-fp32"
    snap = Path(out["path"])
    expected = sorted(SHARED + ["onnx/model.fp32.onnx"])
    assert snapshot_files(snap) == expected
    assert sorted(f["path"] for f in out["files"]) == expected
    for rel in expected:
        assert sha256_file(snap / rel) == sha256_file(hub.root / "org/multi" / rel), rel
    assert fetched_paths(h) == set(expected)
    # The manifest's pull and the package's pull share one listing of the origin.
    listings = [e["path"] for e in h.log() if "/api/models/org/multi/" in e["path"]]
    assert len([p for p in listings if "/revision/" in p]) == 1, listings
    assert len([p for p in listings if "/tree/" in p]) == 1, listings
    lfs = [e for e in h.log() if e["listener"] == "lfs"]
    assert sum(e["bytes_sent"] for e in lfs) == 3 << 20  # the fp16 onnx never moved
    # The manifest records the whole listing; only the package is linked.
    manifest = json.loads((snap.parent / (out["snapshot"] + ".json")).read_text())
    assert sorted(f["path"] for f in manifest["files"]) == sorted(ALL_FILES)
    assert_cache_valid(mc.home)

    # With a GPU the decision differs (new key) and adds the engine to the same snapshot.
    gpu = mc.pull_json("hf://org/multi", "--package", "auto", env=env(h, AMPERE))
    assert gpu["package"] == "trt-fp16" and gpu["snapshot"] == out["snapshot"]
    assert sorted(f["path"] for f in gpu["files"]) == sorted(SHARED + ["trt/model.plan"])
    assert len(entries(mc.home / "resolution-cache")) == 2
    assert_cache_valid(mc.home)


def test_pull_package_by_id_ignores_filters_and_unknown_id_fails(mc, hub):
    h = hub()
    out = mc.pull_json("hf://org/multi", "--package", "trt-fp16", env=env(h))
    assert out["package"] == "trt-fp16"  # no GPU here: an explicit id is not filtered
    assert snapshot_files(out["path"]) == sorted(SHARED + ["trt/model.plan"])
    err = one_line_error(mc.run("pull", "hf://org/multi", "--package", "nope", env=env(h)))
    assert err == ("modelcache: error: hf://org/multi@main has no package 'nope' "
                   "(its packages: onnx-fp32, onnx-fp16, st-bf16, trt-fp16)")
    err = one_line_error(mc.run("pull", "hf://org/multi", "--package", "st-bf16", "--backend", "onnx", env=env(h)))
    assert "need --package auto" in err
    err = one_line_error(mc.run("pull", "hf://org/multi", "--package", "auto", "--backend", "gguf,torch",
                                env=env(h)))
    assert err.startswith("modelcache: error: no package of hf://org/multi@main fits this machine and request: ")
    for pid in ("onnx-fp32", "onnx-fp16", "st-bf16", "trt-fp16"):
        assert f"{pid}: backend " in err and "not requested (--backend gguf,torch)" in err
    # Nothing was lost: the earlier package is intact.
    assert snapshot_files(out["path"]) == sorted(SHARED + ["trt/model.plan"])
    assert_cache_valid(mc.home)


def test_malformed_manifest_is_a_clear_error(mc, hub):
    h = hub()
    err = one_line_error(mc.run("resolve", "hf://org/dupid", env=env(h)))
    assert err == ("modelcache: error: modelcache-packages.json of hf://org/dupid@main: packages[4].id "
                   "'onnx-fp32' is used twice (doc/PACKAGES.md describes the format)")
    err = one_line_error(mc.run("pull", "hf://org/notjson", "--package", "auto", env=env(h)))
    assert "modelcache-packages.json of hf://org/notjson@main is not valid JSON" in err
    assert_cache_valid(mc.home)


def test_model_without_manifest_is_one_package(mc, hub):
    h = hub()
    r = mc.run("resolve", "hf://org/plain", "--explain", env=env(h), check=True)
    assert "packages: no manifest: one package of every file" in r.stdout
    assert "#1 default kept" in r.stdout
    out = mc.pull_json("hf://org/plain", "--package", "auto", env=env(h))
    assert out["package"] == "default"
    assert snapshot_files(out["path"]) == sorted(f for f in ALL_FILES if f != "modelcache-packages.json")
    assert_cache_valid(mc.home)


def test_decision_cache_warm_path_needs_no_origin_and_stores_no_token(mc, hub):
    h = hub("--token", TOKEN)
    e = env(h, HF_TOKEN=TOKEN)
    first = mc.pull_json("hf://org/multi", "--package", "auto", env=e)
    [entry] = entries(mc.home / "resolution-cache")
    data = json.loads(entry.read_text())
    assert data["package"] == "onnx-fp32" and data["snapshot"] == first["snapshot"]
    assert "modelcache-packages.json" in data["files"]
    assert data["inputs"]["credential_sha256"] and data["inputs"]["gpus"] == []
    inode = entry.stat().st_ino
    h.stop()
    again = mc.pull_json("hf://org/multi", "--package", "auto", env=e)
    assert again["path"] == first["path"] and again["package"] == "onnx-fp32"
    assert again["bytes_downloaded"] == 0
    assert entry.stat().st_ino == inode, "a cache hit must not rewrite the decision"
    # The token never reaches the disk, in any file of the cache.
    for p in mc.home.rglob("*"):
        if p.is_file() and not p.is_symlink():
            assert TOKEN.encode() not in p.read_bytes(), p
    # A decision whose files left the store is not used: the pull goes to the
    # origin (stopped here), and fails in one line instead of answering from it.
    mc.run("rm", "hf://org/multi", check=True)
    one_line_error(mc.run("pull", "hf://org/multi", "--package", "auto", env=e))
    assert entries(mc.home / "resolution-cache") == [entry]


def test_decision_ttl_expiry_and_off_switch(mc, hub):
    h = hub()
    e = env(h, MODELCACHE_RESOLUTION_TTL="1")
    mc.pull_json("hf://org/multi", "--package", "auto", env=e)
    [entry] = entries(mc.home / "resolution-cache")
    t1 = json.loads(entry.read_text())["created_at"]
    inode = entry.stat().st_ino
    mc.pull_json("hf://org/multi", "--package", "auto", env=env(h))  # 24 h TTL: used, not rewritten
    assert entry.stat().st_ino == inode
    # A decision whose package lost a file is not used: negotiated and fetched again.
    blob = Path(os.path.realpath(mc.home / "models")).glob("*/snapshots/*/onnx/model.fp32.onnx")
    os.unlink(os.path.realpath(next(blob)))
    out = mc.pull_json("hf://org/multi", "--package", "auto", env=env(h))
    assert out["bytes_downloaded"] == 3 << 20 and out["package"] == "onnx-fp32"
    assert entry.stat().st_ino != inode
    time.sleep(2.1)
    out = mc.pull_json("hf://org/multi", "--package", "auto", env=e)  # expired: negotiated again
    assert out["package"] == "onnx-fp32"
    assert json.loads(entry.read_text())["created_at"] > t1
    entry.write_text("{broken")  # malformed: ignored and replaced
    mc.pull_json("hf://org/multi", "--package", "auto", env=env(h))
    assert json.loads(entry.read_text())["package"] == "onnx-fp32"

    off = Path(mc.home).parent / "off-cache"
    from conftest import Modelcache
    m2 = Modelcache(off)
    out = m2.pull_json("hf://org/multi", "--package", "auto", env=env(h, MODELCACHE_RESOLUTION_CACHE="off"))
    assert out["package"] == "onnx-fp32"
    assert not (off / "resolution-cache").exists()
    assert_cache_valid(mc.home)


def test_purge_resolution_clears_an_overridden_location(mc, hub, tmp_path):
    h = hub()
    rc = tmp_path / "decisions"
    rc.mkdir()
    (rc / "keep.txt").write_text("not ours")
    e = env(h, MODELCACHE_RESOLUTION_CACHE_DIR=str(rc))
    mc.pull_json("hf://org/multi", "--package", "auto", env=e)
    assert len(entries(rc)) == 1
    assert not (mc.home / "resolution-cache").exists()
    mc.run("purge", "--resolution", env=e, check=True)
    assert entries(rc) == [] and (rc / "keep.txt").read_text() == "not ours"
    # The default location too.
    mc.pull_json("hf://org/multi", "--package", "auto", env=env(h))
    assert len(entries(mc.home / "resolution-cache")) == 1
    mc.run("purge", "--resolution", check=True)
    assert not (mc.home / "resolution-cache").exists()
    assert_cache_valid(mc.home)


def test_local_dir_with_manifest(mc, tmp_path):
    src = make_model(tmp_path / "local")
    r = mc.run("resolve", f"file://{src}", "--explain", env=AMPERE, check=True)
    assert r.stdout.strip().splitlines()[-1] == "chosen: trt-fp16 (4 files)"
    out = mc.pull_json(f"file://{src}", "--package", "auto", env=CPU)
    assert out["package"] == "onnx-fp32"
    assert snapshot_files(out["path"]) == sorted(SHARED + ["onnx/model.fp32.onnx"])
    for rel in snapshot_files(out["path"]):
        assert sha256_file(Path(out["path"]) / rel) == sha256_file(src / rel)
    # A local dir is listed on every pull: negotiated again, nothing fetched again.
    again = mc.pull_json(f"file://{src}", "--package", "auto", env=CPU)
    assert again["path"] == out["path"] and again["bytes_downloaded"] == 0
    assert_cache_valid(mc.home)
