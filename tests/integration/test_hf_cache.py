"""export/import --hf-cache: the Hugging Face cache layout, read and written by a
real client (@huggingface/hub's scanCacheDir and snapshotDownload, pinned in
tests/peers/package.json; run scripts/install-deps.sh) and checked against what
huggingface_hub expects (blob names, relative links, refs without a newline)."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import Modelcache, assert_cache_valid, free_port, hf_hub, sha256_file

PEERS = Path(__file__).resolve().parent.parent / "peers"
CLIENT = PEERS / "hf_cache.mjs"
LFS_THRESHOLD = 65536

MODEL_FILES = ["config.json", "model.safetensors", "onnx/model.onnx", "sub/deep/notes.txt"]


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def hf_blob_name(path):
    data = Path(path).read_bytes()
    return hashlib.sha256(data).hexdigest() if len(data) > LFS_THRESHOLD else git_sha1(data)


def node(*args):
    if not (PEERS / "node_modules" / "@huggingface" / "hub").exists():
        pytest.fail("@huggingface/hub is missing: run scripts/install-deps.sh (npm install in tests/peers)")
    r = subprocess.run(["node", str(CLIENT), *map(str, args)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture
def hub(tmp_path, fixture_factory):
    return hf_hub(tmp_path, fixture_factory, LFS_THRESHOLD, seed=41, other_repo=True)


def top_level(files):
    """What scanCacheDir lists: @huggingface/hub 2.17's scanSnapshotDir skips
    folders (huggingface_hub's Python scan does not); nested files are checked
    directly below."""
    return {f["path"]: f["size"] for f in files if "/" not in f["path"]}


def run_json(mc, *args, env=None, rc=0):
    r = mc.run(*args, "--json", env=env)
    assert r.returncode == rc, r
    return json.loads(r.last_line), r


def pull_and_export(mc, hub, hf_dir):
    env = {"HF_ENDPOINT": hub.url}
    snaps = {}
    for ref in ["hf://org/model", "hf://datasets/org/data", "hf://org/other"]:
        snaps[ref] = mc.pull_json(ref, env=env)
    exports = {ref: run_json(mc, "export", ref, "--hf-cache", hf_dir)[0] for ref in snaps}
    return snaps, exports


def test_export_is_read_by_hf_client_and_shares_blobs(mc, hub, tmp_path):
    hf_dir = tmp_path / "hf"
    snaps, exports = pull_and_export(mc, hub, hf_dir)
    model = snaps["hf://org/model"]
    commit = model["snapshot"]
    out = exports["hf://org/model"]
    assert out["commit"] == commit and out["revision"] == "main" and out["files"] == 4
    assert out["hardlinks"] == 4 and out["copies"] == 0 and out["bytes_duplicated"] == 0

    # @huggingface/hub reads it: every repo, revision, ref, file and size, no warnings.
    scan = node("scan", hf_dir)
    assert scan["warnings"] == []
    repos = {(r["type"], r["id"]): r for r in scan["repos"]}
    assert set(repos) == {("model", "org/model"), ("dataset", "org/data"), ("model", "org/other")}
    for ref, snap in snaps.items():
        key = ("dataset", "org/data") if "datasets/" in ref else ("model", ref[len("hf://"):])
        repo = repos[key]
        assert len(repo["revisions"]) == 1
        rev = repo["revisions"][0]
        assert rev["commitOid"] == snap["snapshot"] and rev["refs"] == ["main"]
        files = {os.path.relpath(f["path"], rev["path"]): f["size"] for f in rev["files"]}
        assert files == top_level(snap["files"])
        assert repo["size"] == sum(files.values())

    # huggingface_hub's own expectations, checked directly.
    repo_dir = hf_dir / "models--org--model"
    assert (repo_dir / "refs" / "main").read_bytes() == commit.encode()  # no newline
    ours = Path(model["path"])
    for rel in MODEL_FILES:
        src = hub.root / "org" / "model" / rel
        link = repo_dir / "snapshots" / commit / rel
        name = hf_blob_name(src)
        assert os.readlink(link) == "../" * (2 + rel.count("/")) + "blobs/" + name, rel
        blob = repo_dir / "blobs" / name
        assert sha256_file(link) == sha256_file(src)
        assert blob.stat().st_ino == (ours / rel).resolve().stat().st_ino, f"{rel}: not a hardlink"
    assert (hf_dir / "datasets--org--data" / "refs" / "main").exists()

    # Idempotent: nothing is rewritten the second time.
    inodes = {p: p.lstat().st_ino for p in repo_dir.rglob("*")}
    again, _ = run_json(mc, "export", "hf://org/model", "--hf-cache", hf_dir)
    assert again["blobs_present"] == 4 and again["hardlinks"] == 0
    assert {p: p.lstat().st_ino for p in repo_dir.rglob("*")} == inodes

    # Default folder: HF_HUB_CACHE, else HF_HOME/hub.
    r = mc.run("export", "hf://org/other", "--hf-cache", env={"HF_HOME": str(tmp_path / "hfhome")}, check=True)
    assert (tmp_path / "hfhome" / "hub" / "models--org--other" / "refs" / "main").exists(), r
    assert_cache_valid(mc.home)


def test_export_to_another_filesystem_copies(mc, hub, tmp_path):
    """Hardlinks and reflinks cannot cross filesystems: the blobs are copied and
    the report says how many bytes that duplicated."""
    snap = mc.pull_json("hf://org/model", env={"HF_ENDPOINT": hub.url})
    shm = Path("/dev/shm")
    base = Path(tempfile.mkdtemp(dir=shm)) if shm.is_dir() and os.access(shm, os.W_OK) else tmp_path
    try:
        out, r = run_json(mc, "export", "hf://org/model", "--hf-cache", base / "hf")
        total = sum(f["size"] for f in snap["files"])
        if base.stat().st_dev != mc.home.stat().st_dev:
            assert out["copies"] == 4 and out["bytes_duplicated"] == total and out["hardlinks"] == 0, r
        else:
            assert out["hardlinks"] == 4 and out["bytes_duplicated"] == 0, r
        for f in snap["files"]:
            link = Path(out["snapshot_dir"]) / f["path"]
            assert sha256_file(link) == f["sha256"]
    finally:
        if base != tmp_path:
            shutil.rmtree(base)


def test_export_refuses_what_it_cannot_write(mc, hub, tmp_path):
    hf_dir = tmp_path / "hf"
    r = mc.run("export", "hf://org/model", "--hf-cache", hf_dir)
    assert r.returncode != 0 and "modelcache pull" in r.stderr and r.stderr.count("\n") == 1, r
    snap = mc.pull_json("hf://org/model", env={"HF_ENDPOINT": hub.url})
    # A wrong blob under the name we would write is never overwritten.
    name = hf_blob_name(hub.root / "org/model/config.json")
    bad = hf_dir / "models--org--model" / "blobs" / name
    bad.parent.mkdir(parents=True)
    bad.write_text('{"hidden_size": 9}\n')
    r = mc.run("export", "hf://org/model", "--hf-cache", hf_dir)
    assert r.returncode != 0 and "does not match its name" in r.stderr and "remove it" in r.stderr, r
    assert bad.read_text() == '{"hidden_size": 9}\n'
    assert not (hf_dir / "models--org--model" / "snapshots").exists(), "no link before every blob is in place"
    # Non-Hub refs need --repo-id and a 40-hex snapshot id.
    local = tmp_path / "local"
    (local / "w.bin").parent.mkdir()
    (local / "w.bin").write_bytes(b"x" * 10)
    mc.pull_json(str(local))
    r = mc.run("export", str(local), "--hf-cache", hf_dir)
    assert r.returncode != 0 and "--repo-id" in r.stderr, r
    out, r = run_json(mc, "export", str(local), "--hf-cache", hf_dir, "--repo-id", "me/local")
    link = Path(out["snapshot_dir"]) / "w.bin"
    assert os.readlink(link) == "../../blobs/" + git_sha1(b"x" * 10) and out["revision"] == ""
    assert link.read_bytes() == b"x" * 10 and not (hf_dir / "models--me--local" / "refs").exists()
    assert_cache_valid(mc.home)
    assert Path(snap["path"]).exists()


def test_import_into_fresh_cache_offline(mc, hub, tmp_path):
    hf_dir = tmp_path / "hf"
    snaps, _ = pull_and_export(mc, hub, hf_dir)
    hub.stop()
    dead = {"HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    fresh = Modelcache(tmp_path / "cache2")
    out, r = run_json(fresh, "import", "--hf-cache", hf_dir)
    assert out["repos"] == 3 and out["snapshots"] == 3 and out["snapshots_skipped"] == 0, r
    assert out["files"] == 6 and out["refs"] == 3 and out["warnings"] == []
    # Our exported blobs are 0444 and ours: hardlinked back, nothing copied.
    assert out["hardlinks"] == 6 and out["bytes_copied"] == 0
    model = snaps["hf://org/model"]
    for ref, env in [(f"hf://org/model@{model['snapshot']}", {"MODELCACHE_OFFLINE": "1"}),
                     ("hf://org/model", dead), ("hf://org/model", {"MODELCACHE_OFFLINE": "1"})]:
        got = fresh.pull_json(ref, env=env)
        assert got["snapshot"] == model["snapshot"] and got["bytes_downloaded"] == 0
        for rel in MODEL_FILES:
            assert sha256_file(Path(got["path"]) / rel) == sha256_file(hub.root / "org/model" / rel)
    assert fresh.run("verify").returncode == 0
    assert_cache_valid(fresh.home)
    again, _ = run_json(fresh, "import", "--hf-cache", hf_dir)
    assert again["blobs_present"] == 6 and again["hardlinks"] == 0


def test_import_refuses_corrupt_blobs_and_escaping_links(mc, hub, tmp_path):
    hf_src = tmp_path / "hf"
    snaps, _ = pull_and_export(mc, hub, hf_src)
    hf_dir = tmp_path / "hf-copy"  # own files: corrupting them must not touch mc's blobs
    shutil.copytree(hf_src, hf_dir, symlinks=True)
    name = hf_blob_name(hub.root / "org/model/model.safetensors")
    bad = hf_dir / "models--org--model" / "blobs" / name
    bad.chmod(0o644)
    with open(bad, "r+b") as f:
        f.seek(1000)
        f.write(b"corrupt")
    evil = hf_dir / "models--org--evil" / "snapshots" / ("e" * 40)
    evil.mkdir(parents=True)
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours\n")
    os.symlink(f"../../../../{outside.name}", evil / "up.txt")
    os.symlink(str(outside), evil / "abs.txt")
    os.symlink("../../blobs/x", evil / "back\\slash")
    os.symlink("../../blobs/x", evil / "new\nline")
    fresh = Modelcache(tmp_path / "cache2")
    out, r = run_json(fresh, "import", "--hf-cache", hf_dir, rc=1)
    assert out["snapshots"] == 2 and out["snapshots_skipped"] == 2, r
    assert len(out["warnings"]) == 7, r  # 1 + 1 for the model, 5 + 1 for models--org--evil
    assert f"blobs/{name}: content hashes to" in r.stderr and "not imported" in r.stderr, r
    assert r.stderr.count("outside") == 2 and "backslash" in r.stderr and "control character" in r.stderr, r
    assert all(line.startswith("modelcache: warning: ") for line in r.stderr.splitlines()), r.stderr
    assert "not yours" not in r.stderr, "no content echoed"
    off = {"MODELCACHE_OFFLINE": "1"}
    model = snaps["hf://org/model"]
    r = fresh.run("pull", f"hf://org/model@{model['snapshot']}", env=off)
    assert r.returncode != 0 and "not in the cache" in r.stderr, r
    for ref in ["hf://datasets/org/data", "hf://org/other"]:
        assert fresh.pull_json(ref, env=off)["snapshot"] == snaps[ref]["snapshot"]
    assert not list((fresh.home / "models").glob("*evil*/snapshots/*.json"))
    # The good blobs of the skipped snapshot stay; the corrupt one never entered.
    assert not (fresh.home / "blobs" / "sha256" / name[:2] / name).exists()
    assert_cache_valid(fresh.home)
    # Named repos only.
    only = Modelcache(tmp_path / "cache3")
    out, r = run_json(only, "import", "org/other", "--hf-cache", hf_dir)
    assert out["repos"] == 1 and out["snapshots"] == 1, r


def test_snapshot_download_cache_is_scanned_and_imported(mc, hub, tmp_path):
    hf_dir = tmp_path / "hf-js"
    got = node("download", hub.url, "org/model", hf_dir)
    commit = Path(got["path"]).name
    scan = node("scan", hf_dir)
    assert scan["warnings"] == [] and [r["id"] for r in scan["repos"]] == ["org/model"]
    rev = scan["repos"][0]["revisions"][0]
    assert rev["commitOid"] == commit and rev["refs"] == ["main"]
    assert sorted(os.path.relpath(f["path"], rev["path"]) for f in rev["files"]) == [
        "config.json", "model.safetensors"]
    hub.stop()
    modes = {p: p.stat().st_mode for p in (hf_dir / "models--org--model" / "blobs").iterdir()}
    out, r = run_json(mc, "import", "--hf-cache", hf_dir)
    assert out["snapshots"] == 1 and out["files"] == 4 and out["refs"] == 1, r
    total = sum((hub.root / "org/model" / rel).stat().st_size for rel in MODEL_FILES)
    assert out["bytes_linked"] + out["bytes_copied"] == total
    assert out["hardlinks"] == 0, "a writable file of the user is never hardlinked (our blobs are 0444)"
    assert {p: p.stat().st_mode for p in modes} == modes, "the user's files keep their mode"
    pulled = mc.pull_json("hf://org/model", env={"MODELCACHE_OFFLINE": "1"})
    assert pulled["snapshot"] == commit
    for rel in MODEL_FILES:
        assert sha256_file(Path(pulled["path"]) / rel) == sha256_file(hub.root / "org/model" / rel)
    manifest = json.loads((Path(pulled["path"]).parent / (commit + ".json")).read_text())
    digests = {f["path"]: f["origin_digest"] for f in manifest["files"]}
    assert digests["config.json"].startswith("gitsha1:") and digests["model.safetensors"].startswith("sha256:")
    assert_cache_valid(mc.home)
