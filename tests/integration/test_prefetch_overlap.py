"""examples/prefetch_overlap.cpp end to end: a background prefetch (modelcache::Prefetch)
overlaps simulated start-up work with the download and reports the time saved.

The Hub fixture lists the repo and redirects its LFS file to real nginx with
limit_rate, so the download takes a predictable few seconds.
"""
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import assert_cache_valid, sha256_file, write_random

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS_SIZE = 8 << 20  # 2 connections at nginx limit_rate 1m: 3 to 4 s


def example_bin():
    pull = os.environ.get("MODELCACHE_EXAMPLE_BIN")
    d = Path(pull).parent if pull else ROOT / "build" / "examples"
    path = d / "example_prefetch_overlap"
    if not path.exists():
        pytest.fail(f"{path} not found: build the example_prefetch_overlap target first")
    return str(path)


@pytest.fixture
def slow_hub(tmp_path, nginx_factory, fixture_factory):
    repo = tmp_path / "hub" / "org" / "model"
    repo.mkdir(parents=True)
    (repo / "config.json").write_text('{"model_type": "test"}')
    (repo / "tokenizer.json").write_text('{"vocab": {}}')
    weights = write_random(repo / "model.safetensors", WEIGHTS_SIZE, seed=3)
    cdn = tmp_path / "cdn"
    cdn.mkdir()
    sha = sha256_file(weights)
    (cdn / sha).write_bytes(weights.read_bytes())
    nginx = nginx_factory(cdn, limit_rate="1m")
    hub = fixture_factory("hf_fixture.py", "--root", tmp_path / "hub", "--lfs-threshold", "1024",
                          "--lfs-base-url", nginx.url)
    env = {"HF_ENDPOINT": hub.url, "MODELCACHE_CONNECTIONS_PER_HOST": "2",
           "MODELCACHE_MIN_SEGMENT": str(3 << 20)}
    return {"env": env, "repo": repo, "nginx": nginx}


def run_example(mc, env, *args):
    e = dict(mc.env)
    e.update(env)
    return subprocess.run([example_bin(), *map(str, args)], env=e, capture_output=True, text=True,
                          timeout=120)


def seconds(out, label):
    m = re.search(rf"^{label}:\s+([0-9.]+) s", out, re.M)
    assert m, f"no '{label}:' line in {out!r}"
    return float(m.group(1))


def test_startup_overlaps_the_download(mc, slow_hub):
    p = run_example(mc, slow_hub["env"], "hf://org/model", "--startup-ms", "1500", "--file", "config.json")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    started = float(re.search(r"prefetch started in ([0-9.]+) s", out).group(1))
    download, startup, total = seconds(out, "download"), seconds(out, "start-up"), seconds(out, "total")
    m = re.search(r"^saved:\s+(-?[0-9.]+) s \(one after the other: ([0-9.]+) s\)", out, re.M)
    assert m, out
    saved, sequential = float(m.group(1)), float(m.group(2))

    assert started < 0.05, out  # start() does no I/O on the caller's thread
    assert 1.45 <= startup < 2.0, out
    assert download > startup + 0.8, out  # the weights take longer than the start-up
    # The two overlapped: the total is about the longer of them, not their sum.
    assert total < download + startup - 1.0, out
    assert total >= max(download, startup) - 0.05, out
    assert abs(sequential - (download + startup)) < 0.02, out
    assert abs(saved - (sequential - total)) < 0.02, out
    assert saved > 1.0, out
    # The small file was there long before the weights (it waited only for the start-up).
    ready = float(re.search(r"^file config\.json ready at ([0-9.]+) s", out, re.M).group(1))
    assert ready < startup + 0.5 < total, out

    snap = Path(re.search(r"^snapshot: (.+)$", out, re.M).group(1))
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        assert sha256_file(snap / name) == sha256_file(slow_hub["repo"] / name)
    assert_cache_valid(mc.home)
    # Every byte of the weights was fetched once.
    assert slow_hub["nginx"].bytes_sent() == WEIGHTS_SIZE


def test_a_warm_cache_saves_nothing_and_takes_no_download_time(mc, slow_hub):
    assert run_example(mc, slow_hub["env"], "hf://org/model", "--startup-ms", "0").returncode == 0
    p = run_example(mc, slow_hub["env"], "hf://org/model", "--startup-ms", "300")
    assert p.returncode == 0, p.stderr
    assert seconds(p.stdout, "download") < 0.3, p.stdout
    assert "0 downloaded" in p.stdout, p.stdout


def test_an_error_names_the_reference(mc, slow_hub):
    p = run_example(mc, slow_hub["env"], "hf://org/missing", "--startup-ms", "100")
    assert p.returncode == 1
    assert "hf://org/missing" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    p = run_example(mc, slow_hub["env"], "hf://org/model", "--startup-ms", "0", "--file", "nope.txt")
    assert p.returncode == 1
    assert "nope.txt" in p.stderr, p.stderr
