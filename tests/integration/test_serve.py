"""`modelcache serve`: the Hugging Face-compatible pull-through mirror, driven by a
real client (@huggingface/hub's snapshotDownload through tests/peers/hf_cache.mjs)
and by raw HTTP, against the Hub fixture as upstream (tests/fixtures/hf_fixture.py,
whose /__log counts every upstream request and byte)."""
import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import assert_cache_valid, hf_hub, sha256_file, write_random
# The same peer client (tests/peers/hf_cache.mjs) and Hub fixture tree as test_hf_cache.
from test_hf_cache import CLIENT, LFS_THRESHOLD, MODEL_FILES, PEERS, git_sha1


class Daemon:
    """build/modelcache serve on an ephemeral port; stop() sends SIGTERM."""

    def __init__(self, mc, upstream, log_path):
        self.log_path = log_path
        self.stderr = open(log_path, "w")
        self.proc = subprocess.Popen(mc.cmd("serve", "--listen", "127.0.0.1:0", "--upstream-hf", upstream),
                                     env=mc.env, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), (line, Path(log_path).read_text())
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, method, path, body=None, headers=None, conn=None):
        c = conn or self.conn()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r, data

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=timeout)
        self.stderr.close()
        return rc


@pytest.fixture
def hub(tmp_path, fixture_factory):
    return hf_hub(tmp_path, fixture_factory, LFS_THRESHOLD, seed=51)


def slow_hub(tmp_path, fixture_factory, nginx_factory, size, seed, corrupt=False):
    """The Hub fixture over org/big: config.json ("{}\\n") and weights.bin, `size`
    random bytes whose LFS download comes from an nginx limited to 1 MB/s, so a
    pull of it is still running a few seconds later. With `corrupt`, that nginx
    serves them with one byte changed in the middle (same size: only the digest
    can tell). The hub has `nginx` and `weights` (the true bytes' path)."""
    root = tmp_path / "hub"
    model = root / "org" / "big"
    model.mkdir(parents=True)
    write_random(model / "weights.bin", size, seed=seed)
    (model / "config.json").write_text("{}\n")
    cdn = tmp_path / "cdn"
    cdn.mkdir()
    served = cdn / sha256_file(model / "weights.bin")
    if corrupt:
        data = bytearray((model / "weights.bin").read_bytes())
        data[size // 2] ^= 0xFF
        served.write_bytes(bytes(data))
    else:
        os.link(model / "weights.bin", served)
    nginx = nginx_factory(cdn, limit_rate="1m")
    hub = fixture_factory("hf_fixture.py", "--root", root, "--lfs-threshold", LFS_THRESHOLD,
                          "--lfs-base-url", nginx.url)
    hub.nginx, hub.weights = nginx, model / "weights.bin"
    return hub


@pytest.fixture
def daemon(mc, hub, tmp_path):
    d = Daemon(mc, hub.url, tmp_path / "serve.log")
    yield d
    assert d.stop() == 0, Path(d.log_path).read_text()


def test_daemon_opens_the_store_by_the_same_root_rules_as_the_cli(mc, hub, tmp_path):
    # A world-writable root without the sticky bit is refused by default and admitted
    # by MODELCACHE_ALLOW_SHARED_ROOT=1 (test_hostile.py): the daemon must apply the
    # same rule to every store it opens, or it would accept the root and then fail.
    mc.home.mkdir(parents=True, exist_ok=True)
    os.chmod(mc.home, 0o777)
    mc.env["MODELCACHE_ALLOW_SHARED_ROOT"] = "1"
    d = Daemon(mc, hub.url, tmp_path / "serve.log")
    try:
        r, body = d.request("GET", "/readyz")
        assert r.status == 200, body
    finally:
        assert d.stop() == 0, Path(d.log_path).read_text()


def wait_pulls_done(daemon, headers=None):
    """A cold GET streams and ends once its file is verified; the pull publishes
    the snapshot a moment later (test_serve_stream.py). Waits for that."""
    deadline = time.time() + 30
    while b"\nmodelcache_pulls_in_flight 0\n" not in daemon.request("GET", "/metrics", headers=headers)[1]:
        assert time.time() < deadline, "the daemon's pulls did not finish"
        time.sleep(0.05)


def clear_log(hub):
    req = urllib.request.Request(hub.url + "/__log", method="DELETE")
    urllib.request.urlopen(req).read()


def start_download(url, repo, cache_dir, revision="main"):
    if not (PEERS / "node_modules" / "@huggingface" / "hub").exists():
        pytest.fail("@huggingface/hub is missing: run scripts/install-deps.sh (npm install in tests/peers)")
    return subprocess.Popen(["node", str(CLIENT), "download", url, repo, str(cache_dir), revision],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_download(proc):
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return Path(json.loads(out.strip().splitlines()[-1])["path"])


def upstream_body_bytes(log):
    """Body bytes the upstream sent, per file: LFS files by sha256 (lfs listener),
    small files by path (hub resolve)."""
    out = {}
    for e in log:
        if e["method"] != "GET" or e["status"] not in (200, 206):
            continue
        if e["listener"] == "lfs":
            key = e["path"].split("?")[0].rsplit("/", 1)[1]
        elif "/resolve/" in e["path"]:
            key = e["path"].split("/resolve/", 1)[1].split("/", 1)[1]
        else:
            continue
        out[key] = out.get(key, 0) + e["bytes_sent"]
    return out


def test_snapshot_download_cold_concurrent_then_warm(mc, hub, daemon, tmp_path):
    model = hub.root / "org" / "model"
    procs = [start_download(daemon.url, "org/model", tmp_path / f"hf{i}") for i in range(4)]
    snaps = [finish_download(p) for p in procs]
    for snap in snaps:
        for f in MODEL_FILES:
            assert sha256_file(snap / f) == sha256_file(model / f), f
    # Cold, four clients at once: every upstream byte of every file was sent once.
    sent = upstream_body_bytes(hub.log())
    expected = {}
    for f in MODEL_FILES:
        data = (model / f).read_bytes()
        key = hashlib.sha256(data).hexdigest() if len(data) > LFS_THRESHOLD else f
        expected[key] = len(data)
    assert sent == expected
    # ... and the four clients' requests for "main" caused one pull: one listing upstream.
    assert [e["path"].split("?")[0] for e in hub.log() if "/revision/" in e["path"]] == \
        ["/api/models/org/model/revision/main"]
    # The client's cache names blobs like huggingface_hub: sha256 for LFS, git sha1 otherwise.
    blobs = {p.name for p in (tmp_path / "hf0" / "models--org--model" / "blobs").iterdir()}
    assert git_sha1((model / "config.json").read_bytes()) in blobs
    assert sha256_file(model / "model.safetensors") in blobs

    # Warm ("main" within MODELCACHE_REF_TTL, then the pinned commit): no upstream request at all.
    clear_log(hub)
    snap = finish_download(start_download(daemon.url, "org/model", tmp_path / "warm"))
    commit = snap.name
    finish_download(start_download(daemon.url, "org/model", tmp_path / "warm2", commit))
    for f in MODEL_FILES:
        assert sha256_file(snap / f) == sha256_file(model / f)
    assert hub.log() == []
    assert_cache_valid(mc.home)


def test_dataset_through_the_mirror(mc, hub, daemon, tmp_path):
    snap = finish_download(start_download(daemon.url, "datasets/org/data", tmp_path / "hf"))
    assert (snap / "train.csv").read_text() == "a,b\n1,2\n"
    r, body = daemon.request("GET", "/api/datasets/org/data")
    assert r.status == 200 and json.loads(body)["siblings"] == [{"rfilename": "train.csv"}]
    assert_cache_valid(mc.home)


def test_resolve_headers_and_ranges(mc, hub, daemon):
    model = hub.root / "org" / "model"
    conn = daemon.conn()  # one keep-alive connection for all of it
    r, body = daemon.request("GET", "/api/models/org/model/revision/main?blobs=true", conn=conn)
    assert r.status == 200
    info = json.loads(body)
    commit = info["sha"]
    assert len(commit) == 40
    lfs = (model / "model.safetensors").read_bytes()
    small = (model / "config.json").read_bytes()
    sib = {s["rfilename"]: s for s in info["siblings"]}
    assert sib["model.safetensors"]["lfs"]["sha256"] == hashlib.sha256(lfs).hexdigest()
    assert sib["config.json"]["blobId"] == git_sha1(small)

    r, body = daemon.request("HEAD", "/org/model/resolve/main/model.safetensors", conn=conn)
    assert r.status == 200 and body == b""
    assert r.getheader("X-Repo-Commit") == commit
    assert r.getheader("ETag") == '"%s"' % hashlib.sha256(lfs).hexdigest()
    assert r.getheader("X-Linked-Etag") == '"%s"' % hashlib.sha256(lfs).hexdigest()
    assert r.getheader("X-Linked-Size") == str(len(lfs))
    assert r.getheader("Content-Length") == str(len(lfs))
    assert r.getheader("Accept-Ranges") == "bytes"
    assert not [h for h, _ in r.getheaders() if h.lower().startswith("x-xet")]

    r, body = daemon.request("HEAD", f"/org/model/resolve/{commit}/config.json", conn=conn)
    assert r.status == 200 and r.getheader("ETag") == '"%s"' % git_sha1(small)
    assert r.getheader("X-Linked-Size") is None

    r, body = daemon.request("GET", "/org/model/resolve/main/model.safetensors", conn=conn)
    assert r.status == 200 and body == lfs
    r, body = daemon.request("GET", "/org/model/resolve/main/model.safetensors",
                             headers={"Range": "bytes=0-0"}, conn=conn)
    assert r.status == 206 and body == lfs[:1]
    assert r.getheader("Content-Range") == f"bytes 0-0/{len(lfs)}"
    r, body = daemon.request("GET", "/org/model/resolve/main/model.safetensors",
                             headers={"Range": "bytes=1000-199999"}, conn=conn)
    assert r.status == 206 and body == lfs[1000:200000]
    r, body = daemon.request("GET", "/org/model/resolve/main/model.safetensors",
                             headers={"Range": "bytes=-10"}, conn=conn)
    assert r.status == 206 and body == lfs[-10:]
    r, body = daemon.request("GET", "/org/model/resolve/main/model.safetensors",
                             headers={"Range": f"bytes={len(lfs)}-"}, conn=conn)
    assert r.status == 416 and r.getheader("Content-Range") == f"bytes */{len(lfs)}"
    r, body = daemon.request("GET", "/org/model/resolve/main/sub/deep/notes.txt", conn=conn)
    assert r.status == 200 and body == b"hello world\n"
    conn.close()

    # tree: nested, recursive or not; paths-info as JSON and as a form.
    r, body = daemon.request("GET", "/api/models/org/model/tree/main/sub?recursive=false")
    assert [(e["type"], e["path"]) for e in json.loads(body)] == [("directory", "sub/deep")]
    r, body = daemon.request("GET", "/api/models/org/model/tree/main?recursive=true")
    tree = {e["path"]: e for e in json.loads(body)}
    assert set(tree) == {"config.json", "model.safetensors", "onnx", "onnx/model.onnx", "sub", "sub/deep",
                         "sub/deep/notes.txt"}
    assert tree["model.safetensors"]["lfs"]["oid"] == hashlib.sha256(lfs).hexdigest()
    # ... and the same as the Hub fixture says (oid of the LFS pointer, pointerSize).
    with urllib.request.urlopen(hub.url + "/api/models/org/model/tree/main?recursive=true") as u:
        upstream = {e["path"]: e for e in json.loads(u.read())}
    for p in MODEL_FILES:
        assert tree[p] == upstream[p], p
    r, body = daemon.request("GET", "/api/models/org/model/tree/main?recursive=true&limit=3")
    assert len(json.loads(body)) == 3 and 'rel="next"' in r.getheader("Link")
    r, body = daemon.request("POST", "/api/models/org/model/paths-info/main",
                             body=json.dumps({"paths": ["onnx/model.onnx", "nope", "sub"], "expand": True}),
                             headers={"Content-Type": "application/json"})
    got = json.loads(body)
    assert [e["path"] for e in got] == ["onnx/model.onnx", "sub"]
    assert got[0]["lastCommit"]["id"] == commit
    r, body = daemon.request("POST", "/api/models/org/model/paths-info/main", body="paths=config.json",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert [e["oid"] for e in json.loads(body)] == [git_sha1(small)]
    assert_cache_valid(mc.home)


@pytest.mark.parametrize("path,status,code", [
    ("/api/models/org/missing", 404, "RepoNotFound"),
    ("/org/missing/resolve/main/config.json", 404, "RepoNotFound"),
    ("/api/models/org/model/revision/nope", 404, "RevisionNotFound"),
    ("/org/model/resolve/nope/config.json", 404, "RevisionNotFound"),
    ("/org/model/resolve/main/missing.bin", 404, "EntryNotFound"),
    ("/api/models/org/model/tree/main/missing", 404, "EntryNotFound"),
    ("/org/model/resolve/main/../config.json", 400, None),
    ("/org/model/resolve/main/%2e%2e/config.json", 400, None),
    ("/org/model/resolve/main/sub/%2E%2E/%2e%2e/x", 400, None),
    ("/org/model/resolve/main/a%00b", 400, None),
    ("/org/model/resolve/main//etc/passwd", 400, None),
    ("/%2e%2e/model/resolve/main/config.json", 400, None),
    ("/api/models/org/..%2Fx/revision/main", 400, None),
    ("/org/model/resolve/%2e%2e/config.json", 400, None),
])
def test_errors_are_json_and_the_daemon_keeps_serving(mc, hub, daemon, path, status, code):
    r, body = daemon.request("GET", path)
    assert r.status == status, body
    assert r.getheader("X-Error-Code") == code
    assert json.loads(body)["error"]
    r, _ = daemon.request("GET", "/healthz")
    assert r.status == 200


def test_bad_bodies_health_and_ready(mc, hub, daemon):
    r, body = daemon.request("POST", "/api/models/org/model/paths-info/main", body=b"x" * (2 << 20),
                             headers={"Content-Type": "application/json"})
    assert r.status == 413 and "limit" in json.loads(body)["error"]
    r, body = daemon.request("POST", "/api/models/org/model/paths-info/main", body=b"{not json",
                             headers={"Content-Type": "application/json"})
    assert r.status == 400 and "JSON" in json.loads(body)["error"]
    r, body = daemon.request("POST", "/api/models/org/model/paths-info/main", body=b'{"paths": "x"}',
                             headers={"Content-Type": "application/json"})
    assert r.status == 400
    r, _ = daemon.request("GET", "/no/such/route")
    assert r.status == 404
    for route in ("/healthz", "/readyz"):
        r, body = daemon.request("GET", route)
        assert r.status == 200, route
    # A malformed request line is a 400, and the daemon still serves the next client.
    with socket.create_connection(("127.0.0.1", daemon.port)) as s:
        s.sendall(b"BROKEN\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 400")
    r, _ = daemon.request("GET", "/healthz")
    assert r.status == 200
    # Idle and slow (half-sent request) connections do not stop other clients.
    idle = [socket.create_connection(("127.0.0.1", daemon.port)) for _ in range(60)]
    for s in idle[::2]:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    r, _ = daemon.request("GET", "/readyz")
    assert r.status == 200
    for s in idle:
        s.close()
    assert_cache_valid(mc.home)


def test_sigterm_during_a_pull_exits_0_and_leaves_the_cache_valid(mc, tmp_path, fixture_factory, nginx_factory):
    # The LFS bytes come from a rate-limited nginx, so the pull is still running
    # when the daemon gets SIGTERM.
    hub = slow_hub(tmp_path, fixture_factory, nginx_factory, 6 << 20, seed=53)
    d = Daemon(mc, hub.url, tmp_path / "serve.log")
    result = {}

    def client():
        try:
            result["status"] = d.request("GET", "/org/big/resolve/main/weights.bin")[0].status
        except (OSError, http.client.HTTPException) as e:
            result["error"] = repr(e)

    t = threading.Thread(target=client)
    t.start()
    deadline = time.time() + 10
    while time.time() < deadline and not list((mc.home / "tmp").glob("*.part")):
        time.sleep(0.05)
    assert list((mc.home / "tmp").glob("*.part")), "the pull did not start"
    time.sleep(0.3)
    started = time.time()
    assert d.stop() == 0, Path(d.log_path).read_text()
    assert time.time() - started < 10
    t.join(timeout=10)
    assert result.get("status") == 503 or "error" in result, result
    assert not list(mc.home.glob("models/*/snapshots/*/weights.bin"))
    assert_cache_valid(mc.home)


def test_private_repo_is_served_only_to_tokens_the_upstream_accepts(mc, tmp_path, fixture_factory):
    root = tmp_path / "hub"
    model = root / "org" / "private"
    model.mkdir(parents=True)
    write_random(model / "weights.bin", 100_000, seed=54)
    (model / "config.json").write_text("{}\n")
    hub = fixture_factory("hf_fixture.py", "--root", root, "--lfs-threshold", LFS_THRESHOLD, "--token", "s3cret")
    d = Daemon(mc, hub.url, tmp_path / "serve.log")
    good = {"Authorization": "Bearer s3cret"}
    wrong = {"Authorization": "Bearer guess"}
    url = "/org/private/resolve/main/weights.bin"
    try:
        r, body = d.request("GET", url)  # nothing cached, no token: the upstream refuses
        assert r.status in (401, 404) and r.getheader("X-Error-Code") == "RepoNotFound"
        r, body = d.request("GET", url, headers=good)  # pulled with the client's token
        assert r.status == 200 and body == (model / "weights.bin").read_bytes()
        wait_pulls_done(d)
        # Cached now, yet refused without a token or with one the upstream rejects.
        for headers in ({}, wrong):
            for method, path, data in [("GET", url, None), ("HEAD", url, None),
                                       ("GET", "/api/models/org/private", None),
                                       ("GET", "/api/models/org/private/tree/main", None),
                                       ("POST", "/api/models/org/private/paths-info/main",
                                        '{"paths": ["config.json"]}')]:
                h = dict(headers, **({"Content-Type": "application/json"} if data else {}))
                r, body = d.request(method, path, body=data, headers=h)
                assert r.status == 401, (method, path, headers, body)
                assert r.getheader("X-Error-Code") == "RepoNotFound"
                assert b"s3cret" not in body and b"guess" not in body
        # The accepted token is remembered: no upstream request to serve it again.
        clear_log(hub)
        r, body = d.request("GET", url, headers=good)
        assert r.status == 200 and body == (model / "weights.bin").read_bytes()
        assert hub.log() == []
    finally:
        assert d.stop() == 0, Path(d.log_path).read_text()
    assert "s3cret" not in Path(d.log_path).read_text()
    assert_cache_valid(mc.home)


def test_cold_head_answers_from_upstream_metadata(mc, hub, daemon):
    model = hub.root / "org" / "model"
    lfs = (model / "model.safetensors").read_bytes()
    small = (model / "config.json").read_bytes()
    started = time.time()
    r, body = daemon.request("HEAD", "/org/model/resolve/main/model.safetensors")
    assert time.time() - started < 1
    assert r.status == 200 and body == b""
    assert r.getheader("ETag") == r.getheader("X-Linked-Etag") == '"%s"' % hashlib.sha256(lfs).hexdigest()
    assert r.getheader("X-Linked-Size") == r.getheader("Content-Length") == str(len(lfs))
    commit = r.getheader("X-Repo-Commit")
    assert len(commit) == 40
    r, _ = daemon.request("HEAD", "/org/model/resolve/main/config.json")
    assert r.getheader("ETag") == '"%s"' % git_sha1(small) and r.getheader("Content-Length") == str(len(small))
    r, _ = daemon.request("HEAD", "/org/model/resolve/main/missing.bin")
    assert r.status == 404 and r.getheader("X-Error-Code") == "EntryNotFound"
    # Nothing was downloaded for them; the same HEAD from the store, once cached, agrees.
    assert not [e for e in hub.log() if e["listener"] == "lfs" or e["method"] == "GET"]
    assert not [p for p in mc.home.glob("blobs/**/*") if p.is_file()]
    clear_log(hub)
    r, body = daemon.request("GET", "/org/model/resolve/main/model.safetensors")
    assert r.status == 200 and body == lfs
    r2, _ = daemon.request("HEAD", "/org/model/resolve/main/model.safetensors")
    for h in ("ETag", "X-Linked-Etag", "X-Linked-Size", "Content-Length", "X-Repo-Commit"):
        assert r2.getheader(h) == r.getheader(h), h
    assert r2.getheader("X-Repo-Commit") == commit
    assert_cache_valid(mc.home)
