"""`modelcache prefetch -c config.yaml` and `modelcache lock` on Truss configs,
against the Hub fixture (tests/fixtures/hf_fixture.py) with fake repos named like
the SDXL example's (small random files), nginx for https-style entries, and local
directories."""
import json
import os
import stat
from pathlib import Path

import pytest

from conftest import FIXTURES, Modelcache, assert_cache_valid, sha256_file, write_random

TOKEN = "hf_gated_secret_value_9f8e7d6c5b4a"
SDXL_CONFIG = FIXTURES / "truss" / "sdxl" / "config.yaml"

# Each fake repo: every file it has, and the ones the SDXL config's patterns select.
REPOS = {
    "madebyollin/sdxl-vae-fp16-fix": {
        "files": {"config.json": 300, "diffusion_pytorch_model.safetensors": 2 << 20,
                  "diffusion_pytorch_model.bin": 4000, "README.md": 100},
        "selected": ["config.json", "diffusion_pytorch_model.safetensors"],
        "folder": "sdxl-vae-fp16-fix",
    },
    "stabilityai/stable-diffusion-xl-base-1.0": {
        "files": {"model_index.json": 500, "unet/config.json": 700,
                  "unet/diffusion_pytorch_model.fp16.safetensors": (1 << 20) + 12345,
                  "unet/diffusion_pytorch_model.safetensors": 5000,
                  "sd_xl_base_1.0.safetensors": 3 << 20, "sd_xl_base_1.0_0.9vae.safetensors": 3000,
                  "text_encoder/model.onnx": 2000},
        "selected": ["model_index.json", "sd_xl_base_1.0.safetensors", "unet/config.json",
                     "unet/diffusion_pytorch_model.fp16.safetensors"],
        "folder": "stable-diffusion-xl-base-1.0",
    },
    "stabilityai/stable-diffusion-xl-refiner-1.0": {
        "files": {"model_index.json": 400, "vae/config.json": 600,
                  "vae/diffusion_pytorch_model.fp16.safetensors": 9000,
                  "sd_xl_refiner_1.0.safetensors": 1500, "unet/model.onnx": 800,
                  "unet/model.fp16.onnx": 800},
        "selected": ["model_index.json", "sd_xl_refiner_1.0.safetensors", "vae/config.json",
                     "vae/diffusion_pytorch_model.fp16.safetensors"],
        "folder": "stable-diffusion-xl-refiner-1.0",
    },
}


def make_repos(root):
    for seed, (name, spec) in enumerate(REPOS.items()):
        for i, (rel, size) in enumerate(spec["files"].items()):
            write_random(Path(root) / name / rel, size, seed=seed * 100 + i)


@pytest.fixture
def hub(tmp_path, fixture_factory):
    root = tmp_path / "hub"
    make_repos(root)

    def start(*extra):
        return fixture_factory("hf_fixture.py", "--root", root, "--lfs-threshold", "1048576", *extra)

    start.root = root
    return start


def env_for(h, **extra):
    return {"HF_ENDPOINT": h.url, "MODELCACHE_MIN_SEGMENT": "1MiB",
            "MODELCACHE_SECRETS_DIR": "/nonexistent-secrets-dir", **extra}


def write_config(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def tree(root):
    """{relative path: sha256} of every file under root (following links), marker left out."""
    root = Path(root)
    return {str(p.relative_to(root)): sha256_file(p) for p in root.rglob("*")
            if p.is_file() and p.name != ".modelcache-mount"}


def expected_tree(hub_root, repo, paths):
    return {p: sha256_file(Path(hub_root) / repo / p) for p in paths}


def test_sdxl_example_mounts_every_entry_as_links_into_the_cache(mc, hub, tmp_path):
    h = hub()
    mounts = tmp_path / "model_cache"
    r = mc.run("prefetch", "-c", SDXL_CONFIG, "--mount-root", mounts, env=env_for(h))
    assert r.returncode == 0, r
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 3 and r.stderr == ""
    for i, (repo, spec) in enumerate(REPOS.items()):
        mount = mounts / spec["folder"]
        assert lines[i] == f"model_cache[{i}] {repo} -> {mount}"
        assert tree(mount) == expected_tree(hub.root, repo, spec["selected"]), repo
        for rel in spec["selected"]:
            link = mount / rel
            assert link.is_symlink() and os.path.isabs(os.readlink(link))
            assert Path(os.readlink(link)).is_relative_to(mc.home / "blobs")
        assert (mount / ".modelcache-mount").is_file()
    # The stage directories are gone: only the three mounts remain.
    assert sorted(p.name for p in mounts.iterdir()) == sorted(s["folder"] for s in REPOS.values())
    assert_cache_valid(mc.home)


def test_copy_mode_gives_read_only_regular_files(mc, hub, tmp_path):
    h = hub()
    mounts = tmp_path / "mnt"
    r = mc.run("prefetch", "-c", SDXL_CONFIG, "--mount-root", mounts, "--copy", "--quiet", env=env_for(h))
    assert r.returncode == 0, r
    assert r.stdout == ""
    for repo, spec in REPOS.items():
        mount = mounts / spec["folder"]
        assert tree(mount) == expected_tree(hub.root, repo, spec["selected"])
        for rel in spec["selected"]:
            p = mount / rel
            assert not p.is_symlink() and p.is_file()
            assert stat.S_IMODE(p.stat().st_mode) == 0o444


def test_second_prefetch_is_warm_and_makes_no_request(mc, hub, tmp_path):
    h = hub()
    mounts = tmp_path / "mnt"
    first = mc.run("prefetch", "-c", SDXL_CONFIG, "--mount-root", mounts, "--json", env=env_for(h))
    assert first.returncode == 0, first
    n = len(h.log())
    again = mc.run("prefetch", "-c", SDXL_CONFIG, "--mount-root", mounts, "--json", env=env_for(h))
    assert again.returncode == 0, again
    assert len(h.log()) == n, "a warm prefetch must not contact the origin"
    out = json.loads(again.stdout)
    assert out["ok"] and len(out["entries"]) == 3
    assert all(e["bytes_downloaded"] == 0 for e in out["entries"])
    assert [e["mount"] for e in out["entries"]] == [str(mounts / s["folder"]) for s in REPOS.values()]


def test_pattern_matching_nothing_fails_that_entry_only(mc, hub, tmp_path):
    h = hub()
    cfg = write_config(tmp_path / "config.yaml", """
model_name: partial
model_cache:
  - repo_id: madebyollin/sdxl-vae-fp16-fix
    revision: main
    allow_patterns: ["*.json"]
    volume_folder: vae
  - repo_id: stabilityai/stable-diffusion-xl-base-1.0
    revision: main
    allow_patterns: ["*.gguf"]
    volume_folder: base
  - repo_id: stabilityai/stable-diffusion-xl-refiner-1.0
    revision: main
    allow_patterns: ["model_index.json"]
    volume_folder: refiner
""")
    mounts = tmp_path / "mnt"
    r = mc.run("prefetch", "-c", cfg, "--mount-root", mounts, env=env_for(h))
    assert r.returncode == 1
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 1, r.stderr
    assert errors[0].startswith(
        "modelcache: error: model_cache[1] stabilityai/stable-diffusion-xl-base-1.0: "), errors[0]
    assert "*.gguf" in errors[0]
    assert not (mounts / "base").exists()
    assert tree(mounts / "vae") == expected_tree(hub.root, "madebyollin/sdxl-vae-fp16-fix", ["config.json"])
    assert tree(mounts / "refiner") == expected_tree(
        hub.root, "stabilityai/stable-diffusion-xl-refiner-1.0", ["model_index.json"])


def test_missing_repo_is_one_line_naming_the_entry(mc, hub, tmp_path):
    h = hub()
    cfg = write_config(tmp_path / "config.yaml", """
model_cache:
  - repo_id: stabilityai/does-not-exist
    volume_folder: nope
  - repo_id: madebyollin/sdxl-vae-fp16-fix
    allow_patterns: [config.json]
    volume_folder: vae
weights:
  - source: hf://org/also-missing@main
    mount_location: {mnt}/weights
""".format(mnt=tmp_path / "mnt"))
    r = mc.run("prefetch", "-c", cfg, "--mount-root", tmp_path / "mnt", env=env_for(h))
    assert r.returncode == 1
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 2, r.stderr
    assert errors[0].startswith("modelcache: error: model_cache[0] stabilityai/does-not-exist: ")
    assert "not found" in errors[0].lower()
    assert errors[1].startswith("modelcache: error: weights[0] hf://org/also-missing@main: ")
    assert (tmp_path / "mnt" / "vae" / "config.json").is_file()


def test_malformed_config_and_foreign_mount_are_clear(mc, hub, tmp_path):
    h = hub()
    bad = write_config(tmp_path / "bad.yaml", "model_cache:\n  - repo_id: a/b\n  - kind: hf\n")
    r = mc.run("prefetch", "-c", bad, env=env_for(h))
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert f"{bad}:3: model_cache[1]: 'repo_id' is required" in r.stderr
    mounts = tmp_path / "mnt"
    (mounts / "vae").mkdir(parents=True)
    (mounts / "vae" / "mine.txt").write_text("user data")
    cfg = write_config(tmp_path / "config.yaml", """
model_cache:
  - repo_id: madebyollin/sdxl-vae-fp16-fix
    allow_patterns: [config.json]
    volume_folder: vae
""")
    r = mc.run("prefetch", "-c", cfg, "--mount-root", mounts, env=env_for(h))
    assert r.returncode == 1 and "model_cache[0] madebyollin/sdxl-vae-fp16-fix" in r.stderr
    assert "not created by modelcache" in r.stderr
    assert (mounts / "vae" / "mine.txt").read_text() == "user data"


GATED_CONFIG = """
model_cache:
  - repo_id: org/gated
    revision: main
    runtime_secret_name: hf_access_token
    volume_folder: gated
"""


def assert_no_token(token, *places):
    for place in places:
        if isinstance(place, str):
            assert token not in place
            continue
        for p in Path(place).rglob("*"):
            if p.is_file() and not p.is_symlink() and p.stat().st_size < (1 << 20):
                assert token.encode() not in p.read_bytes(), f"token written to {p}"


def test_runtime_secret_from_env_and_from_secrets_dir(tmp_path, hub, fixture_factory):
    write_random(hub.root / "org/gated/config.json", 200, seed=7)
    write_random(hub.root / "org/gated/model.safetensors", 2 << 20, seed=8)
    h = hub("--token", TOKEN, "--gated", "org/gated")
    cfg = write_config(tmp_path / "config.yaml", GATED_CONFIG)
    mounts = tmp_path / "mnt"
    expected = expected_tree(hub.root, "org/gated", ["config.json", "model.safetensors"])

    # No secret anywhere: one line naming the entry, the secret and where it was looked for.
    mc0 = Modelcache(tmp_path / "c0")
    r = mc0.run("prefetch", "-c", cfg, "--mount-root", mounts, env=env_for(h))
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "model_cache[0] org/gated: secret 'hf_access_token' not found" in r.stderr
    assert "MODELCACHE_SECRET_HF_ACCESS_TOKEN" in r.stderr and "/nonexistent-secrets-dir/hf_access_token" in r.stderr

    # A wrong token fails without echoing it.
    wrong = "hf_wrong_" + TOKEN[::-1]
    r = mc0.run("prefetch", "-c", cfg, "--mount-root", mounts,
                env=env_for(h, MODELCACHE_SECRET_HF_ACCESS_TOKEN=wrong))
    assert r.returncode == 1 and "model_cache[0] org/gated" in r.stderr
    assert_no_token(wrong, r.stdout, r.stderr)

    # From the environment.
    mc1 = Modelcache(tmp_path / "c1")
    r = mc1.run("prefetch", "-c", cfg, "--mount-root", mounts, "--json",
                env=env_for(h, MODELCACHE_SECRET_HF_ACCESS_TOKEN=TOKEN, MODELCACHE_LOG="debug"))
    assert r.returncode == 0, r
    assert tree(mounts / "gated") == expected
    assert_no_token(TOKEN, r.stdout, r.stderr, mc1.home, mounts)

    # From a secrets directory (Truss mounts /secrets/<name>), file ends in a newline.
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "hf_access_token").write_text(TOKEN + "\n")
    mc2 = Modelcache(tmp_path / "c2")
    lock = tmp_path / "config.lock"
    r = mc2.run("lock", "-c", cfg, "-o", lock, env=env_for(h, MODELCACHE_SECRETS_DIR=str(secrets)))
    assert r.returncode == 0, r
    mounts2 = tmp_path / "mnt2"
    r2 = mc2.run("prefetch", "-c", cfg, "--lock", lock, "--mount-root", mounts2,
                 env=env_for(h, MODELCACHE_SECRETS_DIR=str(secrets)))
    assert r2.returncode == 0, r2
    assert tree(mounts2 / "gated") == expected
    assert_no_token(TOKEN, r.stdout, r.stderr, r2.stdout, r2.stderr, mc2.home, mounts2, lock)

    # TRUSS_SECRET_<name> and `pull --secret` resolve the same way.
    mc3 = Modelcache(tmp_path / "c3")
    r = mc3.run("pull", "hf://org/gated", "--secret", "hf_access_token", "--json",
                env=env_for(h, TRUSS_SECRET_hf_access_token=TOKEN))
    assert r.returncode == 0, r
    assert_no_token(TOKEN, r.stdout, r.stderr, mc3.home)
    assert_cache_valid(mc3.home)


def push_new_main(hub_root, repo):
    """Moves `main` of repo to a new tree; the old one stays reachable as `v1`."""
    org, name = repo.split("/")
    old = Path(hub_root) / repo
    new = Path(hub_root) / org / (name + "-next")
    for p in old.rglob("*"):
        if p.is_file():
            dest = new / p.relative_to(old)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(p.read_bytes())
    write_random(new / "model_index.json", 555, seed=999)  # the change
    (Path(hub_root) / org / (name + ".refs.json")).write_text(
        json.dumps({"main": name + "-next", "v1": name}))


LOCK_CONFIG = """
model_cache:
  - repo_id: stabilityai/stable-diffusion-xl-base-1.0
    revision: main
    allow_patterns: ["*.json"]
    volume_folder: base
weights:
  - source: hf://madebyollin/sdxl-vae-fp16-fix@main
    mount_location: {mnt}/vae
    allow_patterns: ["config.json"]
"""


def test_lock_then_prefetch_lock_fetches_the_pinned_commit_after_main_moved(mc, hub, tmp_path):
    h = hub()
    mounts = tmp_path / "mnt"
    cfg = write_config(tmp_path / "config.yaml", LOCK_CONFIG.format(mnt=mounts))
    base = "stabilityai/stable-diffusion-xl-base-1.0"
    old = expected_tree(hub.root, base, ["model_index.json", "unet/config.json"])

    r = mc.run("lock", "-c", cfg, env=env_for(h))
    assert r.returncode == 0, r
    lock_path = Path(str(cfg) + ".lock")
    assert r.stdout.strip().splitlines()[-1] == str(lock_path)
    lock = json.loads(lock_path.read_text())
    assert lock["format"] == "modelcache-lock" and lock["version"] == 1
    e0 = lock["entries"][0]
    assert e0["entry"] == "model_cache[0]" and e0["source"] == base + "@main"
    assert len(e0["snapshot"]) == 40 and e0["pinned"] == f"hf://{base}@{e0['snapshot']}"
    assert {f["path"]: f["sha256"] for f in e0["files"]} == old
    assert all("size" in f for f in e0["files"])
    assert lock["entries"][1]["entry"] == "weights[0]"
    assert not list(mounts.glob("*")), "lock fetches into the cache but mounts nothing"

    push_new_main(hub.root, base)
    # A fresh machine: nothing cached, main has moved on.
    fresh = Modelcache(tmp_path / "fresh")
    r = fresh.run("prefetch", "-c", cfg, "--lock", lock_path, "--mount-root", mounts, env=env_for(h))
    assert r.returncode == 0, r
    assert tree(mounts / "base") == old
    assert any(e0["snapshot"] in e["path"] for e in h.log()), "the pinned commit was asked for"
    # Without the lock the same config follows main.
    other = Modelcache(tmp_path / "other")
    r = other.run("prefetch", "-c", cfg, "--mount-root", tmp_path / "mnt-main", env=env_for(h))
    assert r.returncode == 0, r
    assert tree(tmp_path / "mnt-main" / "base") != old
    assert_cache_valid(fresh.home)


def test_prefetch_lock_fails_clearly_when_the_origin_lost_the_pinned_commit(mc, hub, tmp_path):
    h = hub()
    cfg = write_config(tmp_path / "config.yaml", LOCK_CONFIG.format(mnt=tmp_path / "mnt"))
    lock_path = tmp_path / "pins.lock"
    assert mc.run("lock", "-c", cfg, "-o", lock_path, env=env_for(h)).returncode == 0
    pinned = json.loads(lock_path.read_text())["entries"][0]["snapshot"]
    # Force-push: the old tree is gone from the origin.
    write_random(hub.root / "stabilityai/stable-diffusion-xl-base-1.0/model_index.json", 321, seed=4242)
    fresh = Modelcache(tmp_path / "fresh")
    r = fresh.run("prefetch", "-c", cfg, "--lock", lock_path, "--mount-root", tmp_path / "mnt", env=env_for(h))
    assert r.returncode == 1
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 1, r.stderr
    assert errors[0].startswith("modelcache: error: model_cache[0] stabilityai/stable-diffusion-xl-base-1.0: ")
    assert "no longer has" in errors[0] and pinned in errors[0] and "modelcache lock" in errors[0]
    assert (tmp_path / "mnt" / "vae" / "config.json").is_file(), "the other entry still mounts"
    # A config changed after locking is refused for that entry.
    cfg2 = write_config(tmp_path / "config2.yaml",
                        LOCK_CONFIG.replace("revision: main", "revision: v9").format(mnt=tmp_path / "mnt"))
    r = fresh.run("prefetch", "-c", cfg2, "--lock", lock_path, "--mount-root", tmp_path / "mnt", env=env_for(h))
    assert r.returncode == 1 and "run modelcache lock" in r.stderr and "model_cache[0]" in r.stderr


def test_local_and_http_weights_with_lock(mc, nginx_factory, tmp_path):
    local = tmp_path / "local-model"
    write_random(local / "weights.bin", 200000, seed=1)
    write_random(local / "tok" / "vocab.txt", 3000, seed=2)
    www = tmp_path / "www"
    write_random(www / "files" / "adapter.safetensors", 150000, seed=3)
    n = nginx_factory(www)
    mounts = tmp_path / "mnt"
    cfg = write_config(tmp_path / "config.yaml", f"""
weights:
  - source: {local}
    mount_location: {mounts}/local
    ignore_patterns: ["tok/*"]
  - source: {n.url}/files/adapter.safetensors?sig=TOPSECRETSIG
    mount_location: {mounts}/adapter
""")
    lock_path = tmp_path / "config.lock"
    locked = mc.run("lock", "-c", cfg, "-o", lock_path)
    assert locked.returncode == 0, locked
    r = mc.run("prefetch", "-c", cfg, "--lock", lock_path)
    assert r.returncode == 0, r
    # A signed URL's query is a credential: never printed, locked or mounted. (The
    # cache's own layout for http refs is the cache/source modules' business.)
    assert_no_token("TOPSECRETSIG", locked.stdout, locked.stderr, r.stdout, r.stderr,
                    lock_path.read_text(), mounts)
    assert "TOPSECRETSIG" not in "".join(str(p) for p in mounts.rglob("*"))
    j = mc.run("prefetch", "-c", cfg, "--json")
    assert j.returncode == 0 and json.loads(j.stdout)["ok"] is True, j
    assert "topsecretsig" not in (j.stdout + j.stderr).lower()
    assert tree(mounts / "local") == {"weights.bin": sha256_file(local / "weights.bin")}
    assert tree(mounts / "adapter") == {"adapter.safetensors": sha256_file(www / "files/adapter.safetensors")}
    # The URL's content changes: the lock no longer matches what the origin serves.
    write_random(www / "files" / "adapter.safetensors", 150001, seed=4)
    fresh = Modelcache(tmp_path / "fresh")
    r = fresh.run("prefetch", "-c", cfg, "--lock", lock_path, env={"MODELCACHE_REF_TTL": "0"})
    assert r.returncode == 1
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 1 and f"weights[1] {n.url}/files/adapter.safetensors" in errors[0], r.stderr
    assert "lock" in errors[0]
    assert "topsecretsig" not in (r.stdout + r.stderr).lower()
