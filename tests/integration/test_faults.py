"""A fault-injecting origin behind real Hub-protocol metadata: the Hub fixture
redirects LFS downloads to tests/fixtures/fault_origin.py (--lfs-base-url), so
every fault hits a file whose sha256 the origin promised. Each fault ends in
either the correct file or a clear one-line error, never a wrong file, and the
cache stays valid."""
import json
import os
import time
from pathlib import Path

import pytest

from conftest import assert_cache_valid, sha256_file, write_random

SIZE = 3 << 20


@pytest.fixture
def origin(tmp_path, fixture_factory):
    hub_root = tmp_path / "hub"
    repo = hub_root / "org" / "model"
    repo.mkdir(parents=True)
    (repo / "config.json").write_text("{}\n")
    big = write_random(repo / "model.safetensors", SIZE, seed=41)
    sha = sha256_file(big)
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    os.link(big, blobs / sha)
    fault = fixture_factory("fault_origin.py", "--root", blobs)

    def start(mode=None):
        base = f"{fault.url}/{mode}" if mode else fault.url
        hub = fixture_factory("hf_fixture.py", "--root", hub_root, "--lfs-threshold", "1024",
                              "--lfs-base-url", base)
        return hub

    start.fault = fault
    start.sha = sha
    start.big = big
    return start


def env_for(hub):
    return {"HF_ENDPOINT": hub.url, "MODELCACHE_MIN_SEGMENT": "1MiB", "MODELCACHE_STALL_TIMEOUT": "2",
            "MODELCACHE_BACKOFF_MS": "50"}


@pytest.mark.parametrize("mode", ["reset", "short", "stall", "503", "429", "norange", "slow"])
def test_recoverable_faults_end_in_the_correct_file(mc, origin, mode):
    hub = origin(mode)
    started = time.time()
    r = mc.run("pull", "hf://org/model", "--json", env=env_for(hub), timeout=120)
    assert r.returncode == 0, r
    out = json.loads(r.stdout)
    assert sha256_file(Path(out["path"]) / "model.safetensors") == origin.sha
    log = origin.fault.log()
    if mode == "norange":
        # Ranged requests were answered 200 with the whole body, and we coped.
        assert any(e["range"] and e["status"] == 200 for e in log), log
    elif mode == "slow":
        assert all("slow" in e["modes"] for e in log if "/" + origin.sha in e["path"])
    else:
        assert [e for e in log if e.get("faulted")], f"the {mode} fault never fired"
    if mode in ("503", "429"):
        assert time.time() - started >= 1.0, "Retry-After: 1 was not honoured"
    assert_cache_valid(mc.home)


@pytest.mark.parametrize("mode,expect", [
    ("wrong", "mismatch"),
    ("truncated", "size"),
    ("status/403", "403"),
    ("status/404", "404"),
])
def test_unrecoverable_faults_are_clear_errors_and_store_nothing(mc, origin, mode, expect):
    hub = origin(mode)
    r = mc.run("pull", "hf://org/model", env=env_for(hub), timeout=120)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert expect in lines[0].lower(), lines[0]
    assert "model.safetensors" in lines[0]
    assert not list(mc.home.glob("models/*/snapshots/*/model.safetensors"))
    assert not (mc.home / "blobs" / "sha256" / origin.sha[:2] / origin.sha).exists()
    if mode == "wrong":
        assert not list((mc.home / "tmp").glob("*.part")), "proven-wrong bytes must not be kept"
    assert_cache_valid(mc.home)
    # The same pull against a healthy origin then works.
    ok = mc.run("pull", "hf://org/model", "--json", env=env_for(origin()), timeout=120)
    assert ok.returncode == 0, ok
