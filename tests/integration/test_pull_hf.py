"""pull from a Hugging Face Hub protocol server (tests/fixtures/hf_fixture.py),
whose LFS files redirect to a second host like the Hub's CDN."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import assert_cache_valid, sha256_file, write_random

TOKEN = "hf_secret_token_value_0123456789"


def make_repo(root, name="org/model"):
    repo = Path(root) / name
    (repo / "sub").mkdir(parents=True, exist_ok=True)
    (repo / "config.json").write_text('{"hidden_size": 8}\n')
    (repo / "sub" / "notes.txt").write_text("hello world\n")
    write_random(repo / "model.safetensors", 6 << 20, seed=31)
    write_random(repo / "onnx" / "model.onnx", 3 << 20, seed=32)
    return repo


@pytest.fixture
def hub(tmp_path, fixture_factory):
    root = tmp_path / "hub"
    make_repo(root)

    def start(*extra):
        return fixture_factory("hf_fixture.py", "--root", root, "--lfs-threshold", "1048576", *extra)

    start.root = root
    return start


def hub_env(h, **extra):
    return {"HF_ENDPOINT": h.url, "MODELCACHE_MIN_SEGMENT": "1MiB", **extra}


def test_pull_resolves_commit_and_verifies_every_file(mc, hub):
    h = hub()
    out = mc.pull_json("hf://org/model", env=hub_env(h))
    snap = Path(out["path"])
    assert snap.name == out["snapshot"] and len(out["snapshot"]) == 40
    assert snap.parent.name == "snapshots"
    paths = sorted(f["path"] for f in out["files"])
    assert paths == ["config.json", "model.safetensors", "onnx/model.onnx", "sub/notes.txt"]
    for rel in paths:
        assert sha256_file(snap / rel) == sha256_file(hub.root / "org/model" / rel), rel
    log = h.log()
    assert any(e["listener"] == "lfs" for e in log), "LFS files must come through the redirect"
    assert any("/api/models/org/model/revision/main" in e["path"] for e in log)
    manifest = json.loads((snap.parent / (out["snapshot"] + ".json")).read_text())
    lfs = [f for f in manifest["files"] if f["path"] == "model.safetensors"][0]
    assert lfs["origin_digest"] == "sha256:" + lfs["sha256"]
    small = [f for f in manifest["files"] if f["path"] == "config.json"][0]
    assert small["origin_digest"].startswith("gitsha1:")
    assert_cache_valid(mc.home)


def test_warm_pull_and_commit_pin_make_no_request(mc, hub):
    h = hub()
    first = mc.pull_json("hf://org/model", env=hub_env(h))
    n = len(h.log())
    again = mc.pull_json("hf://org/model", env=hub_env(h))
    assert again["path"] == first["path"] and again["bytes_downloaded"] == 0
    pinned = mc.pull_json(f"hf://org/model@{first['snapshot']}", env=hub_env(h, MODELCACHE_REF_TTL="0"))
    assert pinned["path"] == first["path"]
    assert len(h.log()) == n, "no request for a fresh ref or a commit pin"
    # Stale ref: revalidated with metadata requests only, no file bytes.
    stale = mc.pull_json("hf://org/model", env=hub_env(h, MODELCACHE_REF_TTL="0"))
    assert stale["bytes_downloaded"] == 0
    assert all("/resolve/" not in e["path"] and e["listener"] == "hub" for e in h.log()[n:])


def test_revision_with_slash_and_new_commit(mc, hub, tmp_path):
    pr = hub.root / "org" / "pr1"
    pr.mkdir(parents=True)
    (pr / "config.json").write_text('{"hidden_size": 16}\n')
    (hub.root / "org" / "model.refs.json").write_text(json.dumps({"refs/pr/1": "pr1"}))
    h = hub()
    main = mc.pull_json("hf://org/model", env=hub_env(h))
    out = mc.pull_json("hf://org/model", "--revision", "refs/pr/1", env=hub_env(h))
    assert out["snapshot"] != main["snapshot"]
    assert (Path(out["path"]) / "config.json").read_text() == '{"hidden_size": 16}\n'
    assert any("revision/refs%2Fpr%2F1" in e["path"] for e in h.log())
    assert mc.run("path", "hf://org/model@refs/pr/1", check=True).last_line == out["path"]


def test_selection(mc, hub):
    h = hub()
    out = mc.pull_json("hf://org/model", "--allow", "*.json", "--allow", "onnx/", env=hub_env(h))
    assert sorted(f["path"] for f in out["files"]) == ["config.json", "onnx/model.onnx"]
    assert not (Path(out["path"]) / "model.safetensors").exists()
    r = mc.run("pull", "hf://org/model", "--allow", "*.gguf", env=hub_env(h))
    assert r.returncode != 0 and "matches" in r.stderr and len(r.stderr.splitlines()) == 1
    # `path` for a selection that is cached succeeds; for the whole repo it names what is missing.
    assert mc.run("path", "hf://org/model", "--allow", "*.json").returncode == 0
    full = mc.run("path", "hf://org/model")
    assert full.returncode == 1 and "model.safetensors" in full.stderr


@pytest.mark.parametrize("ref,extra,expect", [
    ("hf://org/nope", [], "not found"),
    ("hf://org/model@no-such-branch", [], "no-such-branch"),
])
def test_missing_repo_and_revision_are_clear_errors(mc, hub, ref, extra, expect):
    h = hub(*extra)
    r = mc.run("pull", ref, env=hub_env(h))
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert expect in r.stderr.lower() or expect in r.stderr


def test_token_required_gated_and_never_leaked(mc, hub):
    h = hub("--token", TOKEN, "--gated", "org/model")
    no_token = mc.run("pull", "hf://org/model", env=hub_env(h))
    assert no_token.returncode != 0 and "gated" in no_token.stderr.lower()
    wrong = mc.run("pull", "hf://org/model", "--token", "hf_wrong_" + TOKEN[::-1], env=hub_env(h))
    assert wrong.returncode != 0 and TOKEN[::-1] not in wrong.stderr
    ok = mc.run("pull", "hf://org/model", "--json", env=hub_env(h, HF_TOKEN=TOKEN, MODELCACHE_LOG="debug"))
    assert ok.returncode == 0, ok
    assert TOKEN not in ok.stderr and TOKEN not in ok.stdout
    for p in mc.home.rglob("*"):
        if p.is_file() and not p.is_symlink() and p.stat().st_size < (1 << 20):
            assert TOKEN.encode() not in p.read_bytes(), f"token written to {p}"
    log = h.log()
    hub_reqs = [e for e in log if e["listener"] == "hub" and e["status"] < 400]
    lfs_reqs = [e for e in log if e["listener"] == "lfs"]
    assert hub_reqs and all(e["had_authorization"] for e in hub_reqs)
    assert lfs_reqs and not any(e["had_authorization"] for e in lfs_reqs), \
        "the token must be dropped on the redirect to another host"


def test_hostile_names_are_refused_and_nothing_escapes(mc, hub, tmp_path):
    h = hub("--hostile")
    r = mc.run("pull", "hf://org/model", env=hub_env(h))
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1 and "refusing file name" in r.stderr
    assert not (tmp_path / "x").exists() and not (mc.home / "x").exists()
    assert not os.path.exists("/etc/x")
    assert not list(mc.home.glob("models/*/snapshots/*/*"))
    # Selecting only sane files works: the hostile entries are never touched.
    ok = mc.run("pull", "hf://org/model", "--allow", "*.json", env=hub_env(h))
    assert ok.returncode == 0, ok
    assert_cache_valid(mc.home)


def test_siblings_fallback_without_tree_route(mc, hub):
    h = hub("--no-tree")
    out = mc.pull_json("hf://org/model", env=hub_env(h))
    assert len(out["files"]) == 4
    assert_cache_valid(mc.home)


def test_offline_names_what_is_missing(mc, hub):
    h = hub()
    mc.pull_json("hf://org/model", "--allow", "config.json", env=hub_env(h))
    n = len(h.log())
    r = mc.run("pull", "hf://org/model", env=hub_env(h, HF_HUB_OFFLINE="1"))
    assert r.returncode != 0 and "offline" in r.stderr and "model.safetensors" in r.stderr
    ok = mc.run("pull", "hf://org/model", "--allow", "config.json", "--offline", env=hub_env(h))
    assert ok.returncode == 0
    assert len(h.log()) == n, "offline mode must not touch the network"


def test_eight_processes_share_one_download(mc, hub):
    h = hub()
    env = hub_env(h)
    procs = [mc.popen("pull", "hf://org/model", "--json", env=env) for _ in range(8)]
    outs = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr
        outs.append(json.loads(stdout))
    assert len({o["path"] for o in outs}) == 1
    model_bytes = sum(f.stat().st_size for f in (hub.root / "org/model").rglob("*") if f.is_file())
    served = sum(e["bytes_sent"] for e in h.log() if "/resolve/" in e["path"] or e["listener"] == "lfs")
    assert served <= model_bytes * 1.10, f"origin served {served} bytes for a {model_bytes}-byte model"
    assert served >= model_bytes
    assert sum(o["bytes_downloaded"] for o in outs) <= model_bytes * 1.10
    assert_cache_valid(mc.home)
