"""Cache management end to end: ls/du, rm, gc --max-size (LRU), prune, purge,
MODELCACHE_MAX_SIZE after each pull, snapshot leases held by a library user
(examples/hold.cpp), and gc + prune running in a loop while pulls and a reader run.

Models are local directories (pulled through the same BlobFetcher/publish path as
remote ones, and listed on every pull); one test uses the Hub fixture for the
warm-pull path."""
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import assert_cache_valid, sha256_file, write_random

MIB = 1 << 20


def example_hold_bin():
    path = os.environ.get("MODELCACHE_EXAMPLE_HOLD_BIN")
    if not path:
        base = os.environ.get("MODELCACHE_BIN") or str(Path(__file__).resolve().parents[2] / "build" / "modelcache")
        path = str(Path(base).parent / "examples" / "example_hold")
    if not os.path.exists(path):
        pytest.fail(f"example_hold not found at {path}: build the example_hold target")
    return path


def make_model(root, name, sizes, seed):
    """A local model directory with files f0..fN of the given sizes."""
    d = Path(root) / name
    for i, size in enumerate(sizes):
        write_random(d / f"f{i}.bin", size, seed=seed * 100 + i)
    return d


def blob_bytes(home):
    return sum(p.stat().st_size for p in (Path(home) / "blobs").rglob("*") if p.is_file())


def ls(mc):
    return json.loads(mc.run("ls", "--json", check=True).stdout)


def lease_file(home, snap_path):
    snap_path = Path(snap_path)
    folder = snap_path.parent.parent.name
    return Path(home) / "locks" / "leases" / folder / (snap_path.name + ".lease")


def check_files(snap, src):
    for f in Path(src).rglob("*"):
        if f.is_file():
            rel = f.relative_to(src)
            assert sha256_file(Path(snap) / rel) == sha256_file(f), rel


class Holder:
    """A library user holding a snapshot (its lease) until stopped."""

    def __init__(self, mc, ref):
        env = dict(mc.env)
        self.proc = subprocess.Popen([example_hold_bin(), str(ref)], env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line:
            raise AssertionError(f"example_hold failed: {self.proc.stderr.read()}")
        self.path = Path(line)

    def stop(self):
        self.proc.stdin.close()
        assert self.proc.wait(timeout=10) == 0


def test_ls_shows_last_used_and_du_splits_shared(mc, tmp_path):
    a = make_model(tmp_path / "src", "a", [MIB, 2 * MIB], seed=1)
    b = make_model(tmp_path / "src", "b", [MIB], seed=2)
    # b's second file is a's first: one blob, shared by two models.
    (b / "shared.bin").write_bytes((a / "f0.bin").read_bytes())
    mc.pull_json(a)
    mc.pull_json(b)
    snaps = ls(mc)
    assert len(snaps) == 2
    now = time.time()
    for s in snaps:
        assert now - 60 < s["last_used"] <= now + 1
    text = mc.run("ls", check=True).stdout
    assert "LAST USED" in text and "ago" in text
    du = json.loads(mc.run("du", "--json", check=True).stdout)
    assert du["blobs"] == 4 * MIB == blob_bytes(mc.home)
    by_model = {m["model"].rstrip("/").rsplit("/", 1)[-1]: m for m in du["models"]}
    assert by_model["a"]["bytes"] == 3 * MIB and by_model["a"]["shared"] == MIB
    assert by_model["b"]["bytes"] == 2 * MIB and by_model["b"]["unique"] == MIB
    assert du["unreferenced"] == 0 and du["tmp"] >= 0
    assert "total" in mc.run("du", check=True).stdout
    assert_cache_valid(mc.home)


def test_gc_removes_least_recently_used_first(mc, tmp_path):
    paths = {}
    for i, name in enumerate(["a", "b", "c"]):
        src = make_model(tmp_path / "src", name, [MIB], seed=10 + i)
        paths[name] = mc.pull_json(src)["path"]
    now = time.time()
    # Age the leases: a oldest, then b, then c. Using a again must record the use
    # (the lease is older than the one-hour touch interval) and make it newest.
    for name, age in [("a", 3 * 3600), ("b", 2 * 3600), ("c", 1.5 * 3600)]:
        os.utime(lease_file(mc.home, paths[name]), (now - age, now - age))
    mc.pull_json(tmp_path / "src" / "a")
    assert lease_file(mc.home, paths["a"]).stat().st_mtime > now - 60
    r = mc.run("gc", "--max-size", "2MiB", "--json", check=True)
    report = json.loads(r.stdout)
    assert [x.split("@")[-1] for x in report["removed"]] == [Path(paths["b"]).name]
    left = {Path(s["path"]).name for s in ls(mc)}
    assert left == {Path(paths["a"]).name, Path(paths["c"]).name}
    assert not Path(paths["b"]).exists()
    assert blob_bytes(mc.home) == 2 * MIB
    check_files(paths["a"], tmp_path / "src" / "a")
    # A later use of c makes a the least recently used.
    os.utime(lease_file(mc.home, paths["c"]), (now - 7200, now - 7200))
    mc.pull_json(tmp_path / "src" / "c")
    os.utime(lease_file(mc.home, paths["a"]), (now - 600, now - 600))
    report = json.loads(mc.run("gc", "--max-size", "1.5MiB", "--json", check=True).stdout)
    assert [x.split("@")[-1] for x in report["removed"]] == [Path(paths["a"]).name]
    assert blob_bytes(mc.home) == MIB
    assert_cache_valid(mc.home)


def test_leased_snapshot_survives_gc_rm_and_purge(mc, tmp_path):
    a = make_model(tmp_path / "src", "a", [MIB, MIB], seed=20)
    b = make_model(tmp_path / "src", "b", [MIB], seed=21)
    holder = Holder(mc, a)
    try:
        b_path = mc.pull_json(b)["path"]
        r = mc.run("gc", "--max-size", "0")
        assert r.returncode == 0, r
        assert "a running process is using it" in r.stderr and holder.path.name in r.stderr
        assert not Path(b_path).exists()
        check_files(holder.path, a)
        r = mc.run("rm", a)
        assert r.returncode == 1 and "using it" in r.stderr, r
        r = mc.run("rm", f"{a}")
        assert r.returncode == 1
        r = mc.run("purge", "--all")
        assert r.returncode == 1 and holder.path.name in r.stderr, r
        check_files(holder.path, a)
        assert blob_bytes(mc.home) == 2 * MIB
        assert_cache_valid(mc.home)
    finally:
        holder.stop()
    # The CLI's own pull holds no lease once it exits; the holder is gone too.
    r = mc.run("rm", a, "--json", check=True)
    assert len(json.loads(r.stdout)["removed"]) == 1
    assert ls(mc) == [] and blob_bytes(mc.home) == 0
    assert_cache_valid(mc.home)


def test_shared_blob_survives_removal_of_one_snapshot(mc, tmp_path):
    a = make_model(tmp_path / "src", "a", [MIB, 2 * MIB], seed=30)
    b = make_model(tmp_path / "src", "b", [MIB], seed=31)
    (b / "shared.bin").write_bytes((a / "f1.bin").read_bytes())
    a_path = mc.pull_json(a)["path"]
    b_path = mc.pull_json(b)["path"]
    report = json.loads(mc.run("rm", a, "--json", check=True).stdout)
    assert report["blobs_removed"] == 1 and report["bytes_freed"] == MIB
    assert not Path(a_path).exists()
    check_files(b_path, b)
    assert blob_bytes(mc.home) == 3 * MIB
    assert_cache_valid(mc.home)


def test_rm_one_snapshot_by_revision(mc, hub_env_fixture):
    mc_env, h, hub_root = hub_env_fixture
    first = mc.pull_json("hf://org/model", env=mc_env)
    (hub_root / "org/model/new.txt").write_text("second commit\n")
    second = mc.pull_json("hf://org/model", env={**mc_env, "MODELCACHE_REF_TTL": "0"})
    assert first["snapshot"] != second["snapshot"]
    r = mc.run("rm", f"hf://org/model@{first['snapshot'][:10]}", env=mc_env)
    assert r.returncode == 0, r
    left = ls(mc)
    assert [s["snapshot"] for s in left] == [second["snapshot"]]
    assert left[0]["revisions"] == ["main"]
    # A warm pull of main is still answered from the store, without the origin.
    n = len(h.log())
    assert mc.pull_json("hf://org/model", env=mc_env)["snapshot"] == second["snapshot"]
    assert len(h.log()) == n
    r = mc.run("rm", "hf://org/model@0123456", env=mc_env)
    assert r.returncode == 1 and "not in the cache" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert_cache_valid(mc.home)


@pytest.fixture
def hub_env_fixture(tmp_path, fixture_factory):
    root = tmp_path / "hub"
    repo = root / "org/model"
    repo.mkdir(parents=True)
    (repo / "config.json").write_text('{"a": 1}\n')
    write_random(repo / "model.safetensors", 2 * MIB, seed=40)
    h = fixture_factory("hf_fixture.py", "--root", root, "--lfs-threshold", "1048576")
    return {"HF_ENDPOINT": h.url}, h, root


def test_prune_removes_exactly_the_leftovers(mc, tmp_path):
    a = make_model(tmp_path / "src", "a", [MIB], seed=50)
    a_path = Path(mc.pull_json(a)["path"])
    home = Path(mc.home)
    # An unreferenced blob (a file whose snapshot was removed by hand).
    content = b"orphan blob\n"
    import hashlib
    sha = hashlib.sha256(content).hexdigest()
    orphan = home / "blobs" / "sha256" / sha[:2] / sha
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(content)
    # Partial downloads: one stale, one fresh (both with a free blob lock).
    stale = home / "tmp" / ("1" * 64 + ".part")
    stale.write_bytes(b"x" * 100)
    old = time.time() - 7200
    os.utime(stale, (old, old))
    fresh = home / "tmp" / ("2" * 64 + ".part")
    fresh.write_bytes(b"y" * 100)
    # A dangling ref, an unpublished snapshot dir, an empty model folder.
    folder = a_path.parent.parent
    (folder / "refs" / "gone").write_text(json.dumps({"snapshot": "f" * 40, "revision": "gone", "resolved_at": 1}))
    (folder / "snapshots" / ("e" * 40)).mkdir()
    empty = home / "models" / "empty-0123456789abcdef"
    (empty / "refs").mkdir(parents=True)
    r = mc.run("prune", "--tmp-age", "3600", "--json", check=True)
    rep = json.loads(r.stdout)
    assert rep["blobs_removed"] == 1 and not orphan.exists()
    assert rep["tmp_removed"] == 1 and not stale.exists() and fresh.exists()
    assert rep["refs_removed"] == 1 and not (folder / "refs" / "gone").exists()
    assert not (folder / "snapshots" / ("e" * 40)).exists() and not empty.exists()
    assert rep["removed"] == []
    check_files(a_path, a)
    assert len(ls(mc)) == 1
    # Nothing left to prune: a second run removes nothing.
    rep = json.loads(mc.run("prune", "--tmp-age", "3600", "--json", check=True).stdout)
    assert rep["blobs_removed"] == 0 and rep["tmp_removed"] == 0 and rep["refs_removed"] == 0
    assert_cache_valid(mc.home)


def test_purge(mc, tmp_path):
    a = make_model(tmp_path / "src", "a", [MIB], seed=60)
    mc.pull_json(a)
    (Path(mc.home) / "resolution-cache").mkdir()
    r = mc.run("purge")
    assert r.returncode != 0 and "--models" in r.stderr
    mc.run("purge", "--resolution", check=True)
    assert not (Path(mc.home) / "resolution-cache").exists()
    assert len(ls(mc)) == 1  # snapshots stay
    mc.run("purge", "--models", check=True)
    assert ls(mc) == [] and blob_bytes(mc.home) == 0
    mc.pull_json(a)
    mc.run("purge", "--all", check=True)
    assert ls(mc) == [] and blob_bytes(mc.home) == 0
    assert_cache_valid(mc.home)


def test_budget_holds_after_each_pull(mc, tmp_path):
    env = {"MODELCACHE_MAX_SIZE": "2.5MiB"}
    paths = []
    for i, name in enumerate(["a", "b", "c", "d"]):
        src = make_model(tmp_path / "src", name, [MIB], seed=70 + i)
        out = mc.pull_json(src, env=env)
        paths.append(out["path"])
        # The snapshot just pulled is never the one removed.
        check_files(out["path"], src)
        assert blob_bytes(mc.home) <= int(2.5 * MIB)
    assert {Path(s["path"]).name for s in ls(mc)} == {Path(p).name for p in paths[-2:]}
    assert_cache_valid(mc.home)


def test_bad_sizes_and_unknown_refs_are_one_line_errors(mc, tmp_path):
    for args in [("gc", "--max-size", "lots"), ("gc", "--max-size", "10XB")]:
        r = mc.run(*args)
        assert r.returncode != 0 and "not a size" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r
    a = make_model(tmp_path / "src", "a", [1000], seed=80)
    r = mc.run("pull", a, env={"MODELCACHE_MAX_SIZE": "ten gigs"})
    assert r.returncode != 0 and "MODELCACHE_MAX_SIZE" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = mc.run("rm", "hf://org/unknown")
    assert r.returncode != 0 and "not in the cache" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = mc.run("rm", "::not a ref::")
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1


def test_gc_and_prune_loop_while_pulls_and_a_reader_run(mc, tmp_path):
    budget = 6 * MIB
    env = {"MODELCACHE_MAX_SIZE": str(budget)}
    kept_src = make_model(tmp_path / "src", "kept", [MIB, MIB // 2, 12345], seed=90)
    sources = [make_model(tmp_path / "src", f"m{i}", [MIB, MIB, 300000] + [50000] * 8, seed=91 + i)
               for i in range(4)]
    # Models 0 and 1 share a file with the kept one: its blob must survive them.
    for s in sources[:2]:
        (s / "shared.bin").write_bytes((kept_src / "f0.bin").read_bytes())
    expected = {p.relative_to(kept_src): sha256_file(p) for p in kept_src.rglob("*") if p.is_file()}
    holder = Holder(mc, kept_src)
    stop = threading.Event()
    problems = []
    runs = []

    def manage_loop():
        n = 0
        while not stop.is_set():
            args = ("gc", "--max-size", str(budget)) if n % 2 == 0 else ("prune", "--tmp-age", "0")
            r = mc.run(*args, env=env)  # every remover applies the budget too
            if r.returncode != 0:
                problems.append(f"{args}: {r}")
            runs.append(args[0])
            n += 1

    def reader():
        while not stop.is_set():
            for rel, sha in expected.items():
                try:
                    got = sha256_file(holder.path / rel)
                except OSError as e:
                    problems.append(f"reader: {rel}: {e}")
                    continue
                if got != sha:
                    problems.append(f"reader: {rel} changed")

    threads = [threading.Thread(target=manage_loop), threading.Thread(target=manage_loop),
               threading.Thread(target=reader)]
    for t in threads:
        t.start()
    pulls = []
    try:
        deadline = time.time() + 20
        rounds = 0
        while time.time() < deadline and rounds < 6:
            procs = [mc.popen("pull", "--json", s, env=env) for s in sources]
            for s, p in zip(sources, procs):
                out, err = p.communicate(timeout=120)
                pulls.append((s, p.returncode, out, err))
            # Change one file of each model now and then: new snapshots, old ones become garbage.
            for i, s in enumerate(sources):
                write_random(s / "f2.bin", 300000, seed=1000 + rounds * 10 + i)
            rounds += 1
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    failed = [(str(s), rc, err) for s, rc, out, err in pulls if rc != 0]
    assert not failed, failed
    assert not problems, problems[:5]
    assert len(pulls) >= 8
    # The loop really ran during the pulls, and removed snapshots to meet the budget.
    assert runs.count("gc") >= 4 and runs.count("prune") >= 4, runs
    assert len(ls(mc)) < 1 + 4 * rounds
    for rel, sha in expected.items():
        assert sha256_file(holder.path / rel) == sha
    holder.stop()
    # The last pull ran gc with the budget after its own publish; the loop's last
    # gc too: nothing new came in since.
    assert blob_bytes(mc.home) <= budget, blob_bytes(mc.home)
    assert_cache_valid(mc.home)
