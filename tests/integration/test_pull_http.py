"""pull of single files over HTTP from real nginx, and of local directories."""
import json
import os
from pathlib import Path

from conftest import assert_cache_valid, sha256_file, write_random


def test_http_file_is_pulled_verified_and_linked(mc, nginx_factory, tmp_path):
    data = tmp_path / "www"
    write_random(data / "models" / "weights.bin", 48 << 20, seed=1)
    nginx = nginx_factory(data)
    url = f"{nginx.url}/models/weights.bin"
    r = mc.run("pull", url, env={"MODELCACHE_MIN_SEGMENT": "4MiB"}, check=True)
    snap = Path(r.last_line)
    assert snap.is_absolute() and snap.is_dir()
    f = snap / "weights.bin"
    assert f.is_symlink()
    assert not os.path.isabs(os.readlink(f)), "snapshot links must be relative"
    assert sha256_file(f) == sha256_file(data / "models" / "weights.bin")
    assert not os.access(f.resolve(), os.W_OK) or os.geteuid() == 0
    assert (f.resolve().stat().st_mode & 0o222) == 0, "blobs are read-only"
    # Large file: fetched as several ranges, every byte exactly once.
    gets = [e for e in nginx.entries() if e["method"] == "GET"]
    assert len([e for e in gets if e["range"] != "-"]) >= 2, gets
    assert nginx.bytes_sent("/models/weights.bin") == 48 << 20
    assert_cache_valid(mc.home)


def test_json_output_and_warm_pull_makes_no_request(mc, nginx_factory, tmp_path):
    data = tmp_path / "www"
    write_random(data / "a.bin", 1000, seed=2)
    nginx = nginx_factory(data)
    first = mc.pull_json(f"{nginx.url}/a.bin")
    for key in ("path", "snapshot", "files", "bytes_total", "bytes_downloaded", "seconds"):
        assert key in first
    assert first["bytes_total"] == 1000 and first["bytes_downloaded"] == 1000
    assert first["files"][0]["path"] == "a.bin"
    n = len(nginx.entries())
    second = mc.pull_json(f"{nginx.url}/a.bin")
    assert second["path"] == first["path"]
    assert second["bytes_downloaded"] == 0
    assert len(nginx.entries()) == n, "a fresh ref must not touch the origin"
    # After the ref TTL the origin is asked again (HEAD only), nothing re-downloaded.
    third = mc.pull_json(f"{nginx.url}/a.bin", env={"MODELCACHE_REF_TTL": "0"})
    assert third["bytes_downloaded"] == 0
    assert nginx.bytes_sent() == 1000


def test_path_and_ls_and_offline(mc, nginx_factory, tmp_path):
    data = tmp_path / "www"
    write_random(data / "m.bin", 4096, seed=3)
    nginx = nginx_factory(data)
    url = f"{nginx.url}/m.bin"
    r = mc.run("path", url)
    assert r.returncode == 1 and "not in the cache" in r.stderr
    r = mc.run("pull", url, "--offline")
    assert r.returncode != 0 and "offline" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    pulled = mc.run("pull", url, check=True).last_line
    nginx.stop()
    assert mc.run("path", url, check=True).last_line == pulled
    assert mc.run("pull", url, "--offline", check=True).last_line == pulled
    assert mc.run("pull", url, env={"MODELCACHE_OFFLINE": "1", "MODELCACHE_REF_TTL": "0"},
                  check=True).last_line == pulled
    listing = json.loads(mc.run("ls", "--json", check=True).stdout)
    assert len(listing) == 1 and listing[0]["bytes"] == 4096 and listing[0]["files"] == 1
    assert "m.bin" not in mc.run("ls", check=True).stderr


def test_missing_url_and_bad_ref_are_one_line_errors(mc, nginx_factory, tmp_path):
    data = tmp_path / "www"
    data.mkdir()
    nginx = nginx_factory(data)
    r = mc.run("pull", f"{nginx.url}/nope.bin")
    assert r.returncode != 0
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "404" in r.stderr or "not found" in r.stderr
    r = mc.run("pull", "s5://what/ever")
    assert r.returncode != 0 and "unknown scheme" in r.stderr
    assert not list((mc.home / "models").glob("*/snapshots/*")) if (mc.home / "models").exists() else True


def test_local_directory_pull_and_selection(mc, tmp_path):
    src = tmp_path / "src"
    write_random(src / "config.json", 100, seed=4)
    write_random(src / "sub" / "model.safetensors", 3 << 20, seed=5)
    write_random(src / "sub" / "model.fp16.safetensors", 1 << 20, seed=6)
    r = mc.pull_json(str(src), "--allow", "*.safetensors", "--ignore", "*fp16*")
    assert [f["path"] for f in r["files"]] == ["sub/model.safetensors"]
    snap = Path(r["path"])
    assert sha256_file(snap / "sub/model.safetensors") == sha256_file(src / "sub/model.safetensors")
    assert not (snap / "config.json").exists()
    # A second pull with no filter adds the rest to the same snapshot.
    r2 = mc.pull_json(f"file://{src}")
    assert r2["path"] == r["path"]
    assert sorted(f["path"] for f in r2["files"]) == ["config.json", "sub/model.fp16.safetensors",
                                                       "sub/model.safetensors"]
    assert r2["bytes_downloaded"] == 100 + (1 << 20)
    # A selection that matches nothing is an error, not an empty snapshot.
    bad = mc.run("pull", str(src), "--allow", "*.onnx")
    assert bad.returncode != 0 and "matches" in bad.stderr
    assert_cache_valid(mc.home)


def test_example_program_links_the_library(mc, tmp_path):
    src = tmp_path / "src"
    write_random(src / "w.bin", 1234, seed=7)
    import subprocess
    example = os.environ.get("MODELCACHE_EXAMPLE_BIN") or str(
        Path(__file__).resolve().parents[2] / "build" / "examples" / "example_pull")
    p = subprocess.run([example, str(src)], env=mc.env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "w.bin  1234 bytes" in p.stdout
