"""Issue 4 item 5: shared and hostile environments. A cache root another user
controls is refused; a group-shared cache works across two real users (root and
nobody); symlinks planted in tmp/, locks/ and a model folder are never followed."""
import grp
import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import Modelcache, assert_cache_valid, sha256_file, write_random

NOBODY = 65534
GROUP = "users"

# These tests run as root (like CI) so that they can act as a second user, nobody.


@pytest.fixture
def world(tmp_path):
    """A directory every user can traverse (tmp_path's parents are 0700), with
    model files in src/; the cache root is world/cache, created by the first pull."""
    base = Path(tempfile.mkdtemp(prefix="mc-hostile-", dir="/tmp"))
    os.chmod(base, 0o755)
    src = base / "src"
    src.mkdir()
    (src / "config.json").write_text('{"a": 1}\n')
    write_random(src / "weights.bin", 300_000, seed=51)
    os.chmod(src, 0o755)
    for f in src.iterdir():
        os.chmod(f, 0o644)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def snapshot(path):
    """Content, mtime and mode of every file under `path` (or of one file)."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*"))
    return {str(p): (p.read_bytes() if p.is_file() else None, os.lstat(p).st_mtime_ns,
                     os.lstat(p).st_mode) for p in files}


def one_line_error(r, *needles):
    assert r.returncode != 0, r
    lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    for n in needles:
        assert n in lines[0], r.stderr
    return lines[0]


# --- who owns the root -------------------------------------------------------

def test_root_owned_by_another_user_is_refused_unless_allowed(world, monkeypatch):
    mc = Modelcache(world / "cache")
    mc.home.mkdir()
    os.chown(mc.home, NOBODY, NOBODY)
    ref = f"file://{world / 'src'}"
    line = one_line_error(mc.run("pull", ref), str(mc.home), "owned by uid 65534",
                          "mode 0755", "MODELCACHE_HOME", "MODELCACHE_SHARED_GROUP")
    assert "MODELCACHE_ALLOW_SHARED_ROOT" in line
    assert os.listdir(mc.home) == [], "a refused cache is left as it was"

    out = mc.pull_json(ref, env={"MODELCACHE_ALLOW_SHARED_ROOT": "1"})
    assert sha256_file(Path(out["path"]) / "weights.bin") == sha256_file(world / "src" / "weights.bin")
    monkeypatch.setenv("MODELCACHE_ALLOW_SHARED_ROOT", "1")
    assert_cache_valid(mc.home)
    monkeypatch.delenv("MODELCACHE_ALLOW_SHARED_ROOT")

    # Our own root whose models/ another user planted is refused the same way.
    os.chown(mc.home, 0, 0)
    os.chown(mc.home / "models", NOBODY, NOBODY)
    one_line_error(mc.run("pull", ref), str(mc.home / "models"), "owned by uid 65534")


def test_world_writable_root_needs_the_sticky_bit(world):
    mc = Modelcache(world / "cache")
    mc.home.mkdir()
    os.chmod(mc.home, 0o777)
    ref = f"file://{world / 'src'}"
    one_line_error(mc.run("pull", ref), str(mc.home), "world-writable (mode 0777) without the sticky bit")
    assert os.listdir(mc.home) == []
    # Sticky and ours: others may add names but not remove or rename ours, and each
    # top directory is checked in turn, so one planted before us is refused.
    os.chmod(mc.home, 0o1777)
    (mc.home / "tmp").mkdir()
    os.chown(mc.home / "tmp", NOBODY, NOBODY)
    one_line_error(mc.run("pull", ref), str(mc.home / "tmp"), "owned by uid 65534")
    os.rmdir(mc.home / "tmp")
    # So is a VERSION file another user created first (here: nobody's FIFO would hang a reader).
    os.mkfifo(mc.home / "VERSION")
    os.chown(mc.home / "VERSION", NOBODY, NOBODY)
    one_line_error(mc.run("pull", ref, timeout=20), str(mc.home / "VERSION"), "remove it")
    os.unlink(mc.home / "VERSION")
    out = mc.pull_json(ref)
    assert sha256_file(Path(out["path"]) / "config.json") == sha256_file(world / "src" / "config.json")
    assert_cache_valid(mc.home)


# --- group-shared mode: root and nobody --------------------------------------

def as_nobody(gid):
    def drop():
        os.setgroups([gid])
        os.setgid(gid)
        os.setuid(NOBODY)
    return drop


def run_as_nobody(mc, gid, *args, env=None, check=True):
    e = dict(mc.env)
    e.update(env or {})
    p = subprocess.run(mc.cmd(*args), env=e, capture_output=True, text=True, timeout=120,
                       preexec_fn=as_nobody(gid))
    if check:
        assert p.returncode == 0, p.stderr
    return p


def sha256_as_nobody(gid, path):
    code = "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())"
    p = subprocess.run(["/usr/bin/python3", "-c", code, str(path)], capture_output=True, text=True,
                       preexec_fn=as_nobody(gid))
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_group_shared_cache_between_two_users(world, nginx_factory, monkeypatch):
    gid = grp.getgrnam(GROUP).gr_gid
    env = {"MODELCACHE_SHARED_GROUP": GROUP}
    mc = Modelcache(world / "cache", base_env=env)
    ref = f"file://{world / 'src'}"
    first = mc.pull_json(ref)

    # What root created is group-owned and group-usable.
    for d in [mc.home, mc.home / "blobs" / "sha256", mc.home / "locks" / "blobs", mc.home / "tmp",
              Path(first["path"])]:
        st = os.stat(d)
        assert st.st_gid == gid and stat.S_IMODE(st.st_mode) == 0o2770, (d, oct(st.st_mode))
    for blob in (mc.home / "blobs" / "sha256").glob("*/*"):
        assert stat.S_IMODE(os.stat(blob).st_mode) == 0o444 and os.stat(blob).st_gid == gid
    for f in [*mc.home.glob("locks/**/*.lock"), *mc.home.glob("models/*/snapshots/*.json"),
              *mc.home.glob("models/*/refs/*")]:
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o664, (f, oct(os.stat(f).st_mode))

    # nobody reads root's blobs through a warm pull, and its own check agrees.
    warm = json.loads(run_as_nobody(mc, gid, "pull", ref, "--json").stdout)
    assert warm["path"] == first["path"]
    assert sha256_as_nobody(gid, Path(warm["path"]) / "weights.bin") == \
        sha256_file(world / "src" / "weights.bin")

    # nobody adds a snapshot of the same model: it takes root's model lock and gc
    # lock files (flock needs only that it can open them) and writes next to root's.
    model_lock = next((mc.home / "locks" / "models").glob("*.lock"))
    (world / "src" / "extra.txt").write_text("from nobody\n")
    os.chmod(world / "src" / "extra.txt", 0o644)
    second = json.loads(run_as_nobody(mc, gid, "pull", ref, "--json").stdout)
    assert second["path"] != first["path"]
    assert os.stat(model_lock).st_uid == 0, "root's lock file was used, not replaced"
    assert (Path(second["path"]) / "extra.txt").read_text() == "from nobody\n"

    # Without the shared group, nobody is refused root's cache with a clear error.
    r = run_as_nobody(mc, gid, "pull", ref, env={"MODELCACHE_SHARED_GROUP": ""}, check=False)
    one_line_error(r, f"cache directory {mc.home} is owned by uid 0 (root)", "MODELCACHE_SHARED_GROUP")

    # nobody resumes a download root started and was killed in.
    data = world / "www"
    data.mkdir()
    size = 24 << 20
    src = write_random(data / "big.bin", size, seed=52)
    nginx = nginx_factory(data, limit_rate="8m")
    url = f"{nginx.url}/big.bin"
    dl_env = {"MODELCACHE_CONNECTIONS_PER_HOST": "1", "MODELCACHE_MIN_SEGMENT": "1MiB"}
    a = mc.popen("pull", url, "--quiet", env=dl_env)
    deadline = time.time() + 30
    while time.time() < deadline and not list(mc.home.glob("tmp/*.journal")):
        time.sleep(0.05)
    time.sleep(1.0)
    assert a.poll() is None, "root's pull ended before the kill"
    os.kill(a.pid, signal.SIGKILL)
    a.wait()
    part = next(mc.home.glob("tmp/*.part"))
    assert os.stat(part).st_uid == 0 and stat.S_IMODE(os.stat(part).st_mode) == 0o664
    out = json.loads(run_as_nobody(mc, gid, "pull", url, "--json", env=dl_env).stdout)
    assert 0 < out["bytes_downloaded"] < size, "nobody must resume root's part file"
    assert sha256_as_nobody(gid, Path(out["path"]) / "big.bin") == sha256_file(src)
    blob = (Path(out["path"]) / "big.bin").resolve()
    assert stat.S_IMODE(os.stat(blob).st_mode) == 0o444
    assert not list(mc.home.glob("tmp/*.part"))
    monkeypatch.setenv("MODELCACHE_SHARED_GROUP", GROUP)
    assert_cache_valid(mc.home)


# --- planted symlinks ----------------------------------------------------------

def test_planted_symlinks_are_never_followed(mc, nginx_factory, tmp_path):
    data = tmp_path / "www"
    write_random(data / "m.bin", 2 << 20, seed=53)
    nginx = nginx_factory(data)
    url = f"{nginx.url}/m.bin"
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim"
    victim.write_text("precious\n")
    os.chmod(victim, 0o600)
    before = snapshot(outside)

    first = mc.pull_json(url)
    # The predictable names, read from what the first pull created.
    key = next((mc.home / "locks" / "blobs").glob("*.lock")).name[:-len(".lock")]
    folder = next((mc.home / "models").iterdir())
    snap_id = Path(first["path"]).name

    def forget():
        for link in [mc.home / "tmp" / f"{key}.part", mc.home / "tmp" / f"{key}.journal",
                     mc.home / "locks" / "blobs" / f"{key}.lock", folder / "refs",
                     folder / "snapshots" / snap_id]:
            if link.is_symlink():
                link.unlink()
        mc.run("rm", url)  # "not in the cache" after a refused pull is fine
        mc.run("prune", "--tmp-age", "0", check=True)
        assert not list((mc.home / "blobs" / "sha256").glob("*/*"))

    def plant(link, target):
        forget()
        if link.is_dir() and not link.is_symlink():
            shutil.rmtree(link)
        elif link.exists() or link.is_symlink():
            link.unlink()
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
        return mc.run("pull", url, env={"MODELCACHE_REF_TTL": "0"})

    # tmp/<key>.part -> a file outside: refused, the file untouched.
    part = mc.home / "tmp" / f"{key}.part"
    one_line_error(plant(part, victim), f"refusing to follow the symlink {part}")
    assert snapshot(outside) == before

    # locks/blobs/<key>.lock -> a file outside: refused.
    lock = mc.home / "locks" / "blobs" / f"{key}.lock"
    one_line_error(plant(lock, victim), f"refusing to follow the symlink {lock}")
    assert snapshot(outside) == before

    # tmp/<key>.journal -> a file outside: the journal is replaced by rename, which
    # never follows, so the pull succeeds and the file is untouched.
    journal = mc.home / "tmp" / f"{key}.journal"
    r = plant(journal, victim)
    assert r.returncode == 0, r
    assert snapshot(outside) == before

    # models/<folder>/snapshots/<id> -> a directory outside: no link lands there.
    snap = folder / "snapshots" / snap_id
    one_line_error(plant(snap, outside), f"refusing to follow the symlink {snap}")
    assert snapshot(outside) == before

    # models/<folder>/refs -> a directory outside: no ref is written there.
    refs = folder / "refs"
    one_line_error(plant(refs, outside), f"refusing to follow the symlink {refs}")
    assert snapshot(outside) == before

    # Removing the link lets the next pull work, and the cache is valid.
    refs.unlink()
    out = mc.pull_json(url)
    assert sha256_file(Path(out["path"]) / "m.bin") == sha256_file(data / "m.bin")
    assert_cache_valid(mc.home)
    assert snapshot(outside) == before
