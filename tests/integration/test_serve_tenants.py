"""`modelcache serve --api-keys FILE` (tenants: hashed keys, model globs) and
`--repo NAME=REF` (a model from another origin served as a Hub repo), against
the Hub fixture as upstream and a local directory as the named repo's origin."""
import hashlib
import json
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import assert_cache_valid, hf_hub, sha256_file, write_random
from test_hf_cache import CLIENT, LFS_THRESHOLD, PEERS
from test_serve import Daemon, wait_pulls_done

KEY_A = "hf_tenant_a_0123456789"  # @huggingface/hub sends only tokens that start with hf_
KEY_B = "hf_tenant_b_9876543210"
LOCAL_FILES = ["config.json", "weights.bin", "sub/tokenizer.json"]


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def keys_file(path, tenants):
    path.write_text(json.dumps({"tenants": tenants}))
    return path


class KeyedDaemon(Daemon):
    """Daemon with extra `serve` arguments; stdout is kept for the key check."""

    def __init__(self, mc, upstream, log_path, *extra):
        self.log_path = log_path
        self.stderr = open(log_path, "w")
        self.proc = subprocess.Popen(mc.cmd("serve", "--listen", "127.0.0.1:0", "--upstream-hf", upstream, *extra),
                                     env=mc.env, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), (line, Path(log_path).read_text())
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def call(self, method, path, key=None, body=None, headers=None):
        h = dict(headers or {})
        if key:
            h["Authorization"] = f"Bearer {key}"
        if body is not None:
            h["Content-Type"] = "application/json"
        return self.request(method, path, body=body, headers=h)

    def output(self):
        """Everything the daemon wrote (after stop())."""
        return self.proc.stdout.read() + Path(self.log_path).read_text()


@pytest.fixture
def hub(tmp_path, fixture_factory):
    return hf_hub(tmp_path, fixture_factory, LFS_THRESHOLD, seed=71, other_repo=True)


@pytest.fixture
def local_model(tmp_path):
    root = tmp_path / "local-model"
    (root / "sub").mkdir(parents=True)
    (root / "config.json").write_text('{"local": true}\n')
    write_random(root / "weights.bin", 200_000, seed=72)
    (root / "sub" / "tokenizer.json").write_text("{}\n")
    return root


@pytest.fixture
def keyed(mc, hub, local_model, tmp_path):
    keys = keys_file(tmp_path / "keys.json", [
        {"name": "team-a", "key_sha256": sha(KEY_A), "models": ["hf://org/model", "local/*"]},
        {"name": "team-b", "key_sha256": [sha("hf_old_key_b"), sha(KEY_B)],
         "models": ["org/other", "hf://datasets/org/*"]},
    ])
    d = KeyedDaemon(mc, hub.url, tmp_path / "serve.log", "--api-keys", keys,
                    "--repo", f"local/my-model={local_model}")
    yield d
    assert d.stop() == 0, Path(d.log_path).read_text()
    out = d.output()
    for secret in (KEY_A, KEY_B):
        assert secret not in out


def wait_job(d, key, job):
    deadline = time.time() + 30
    while time.time() < deadline:
        r, body = d.call("GET", f"/v1/jobs/{job}", key)
        out = json.loads(body)
        assert r.status == 200, out
        if out["state"] != "running":
            return out
        time.sleep(0.05)
    raise AssertionError(out)


@pytest.mark.parametrize("tenants,expected", [
    ("{", "not valid JSON"),
    ({"tenants": [{"name": "a", "key_sha256": "x" * 64, "models": []}]}, "tenants[0].key_sha256: expected the sha256"),
    ({"tenants": [{"name": "a", "key_sha256": sha("k"), "models": [], "key": "k"}]}, "tenants[0].key: unknown field"),
    ({"tenants": [{"name": "a", "key_sha256": sha("k"), "models": "hf://*"}]}, "tenants[0].models: expected a list"),
    ({"tenants": [{"name": "a", "key_sha256": sha("k"), "models": []},
                  {"name": "b", "key_sha256": sha("k"), "models": []}]}, "tenants[1].key_sha256: the same key"),
    ({"tenants": [{"name": "a", "key_sha256": sha("k"), "models": [], "upstream_token_env": "MC_TEST_UNSET_TOKEN"}]},
     "tenants[0].upstream_token_env: MC_TEST_UNSET_TOKEN is not set"),
    ({"users": []}, 'expected {"tenants": [...]}'),
])
def test_bad_keys_file_is_one_line_and_the_daemon_does_not_start(mc, tmp_path, tenants, expected):
    f = tmp_path / "keys.json"
    f.write_text(tenants if isinstance(tenants, str) else json.dumps(tenants))
    r = mc.run("serve", "--listen", "127.0.0.1:0", "--api-keys", f, timeout=10)
    assert r.returncode != 0 and "listening" not in r.stdout
    assert expected in r.stderr and f"--api-keys {f}" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and sha("k") not in r.stderr, r.stderr


def test_bad_repo_name_is_refused(mc, tmp_path):
    for spec, expected in [("noequals", "expected NAME=REF"), ("noslash=/tmp", "NAME must be"),
                           ("org/x=s3://", "--repo org/x: ")]:
        r = mc.run("serve", "--listen", "127.0.0.1:0", "--repo", spec, timeout=10)
        assert r.returncode != 0 and expected in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = mc.run("serve", "--listen", "127.0.0.1:0", "--repo", "a/b=/x", "--repo", "a/b=/y", timeout=10)
    assert r.returncode != 0 and "given twice" in r.stderr, r.stderr


def test_hash_key_prints_what_the_file_stores(mc):
    for text in (KEY_A, KEY_A + "\n"):
        r = subprocess.run(mc.cmd("serve", "--hash-key"), input=text, capture_output=True, text=True, env=mc.env)
        assert r.returncode == 0 and r.stdout == sha(KEY_A) + "\n", r


def test_keys_are_required_except_for_healthz(keyed):
    r, body = keyed.call("GET", "/healthz")
    assert r.status == 200
    for path in ("/readyz", "/metrics", "/v1/models", "/org/model/resolve/main/config.json", "/api/models/org/model"):
        for key in (None, "hf_wrong_key", KEY_A + "x"):
            r, body = keyed.call("GET", path, key)
            assert r.status == 401 and r.getheader("WWW-Authenticate") == "Bearer", (path, key, body)
            err = json.loads(body)["error"]
            assert "\n" not in err and (key is None or key not in err), err
    for key in (KEY_A, KEY_B, "hf_old_key_b"):
        assert keyed.call("GET", "/readyz", key)[0].status == 200
        assert keyed.call("GET", "/metrics", key)[0].status == 200


def test_a_tenant_cannot_use_another_tenants_cached_model(mc, hub, keyed):
    model = hub.root / "org" / "model"
    r, body = keyed.call("POST", "/v1/pull", KEY_A, json.dumps({"ref": "hf://org/model"}))
    assert r.status == 202, body
    job = json.loads(body)["job"]
    out = wait_job(keyed, KEY_A, job)
    assert out["state"] == "done", out

    # B: the model is cached, yet B can neither see, read, pull nor delete it.
    r, body = keyed.call("GET", "/v1/models", KEY_B)
    assert r.status == 200 and json.loads(body) == []
    assert keyed.call("GET", f"/v1/jobs/{job}", KEY_B)[0].status == 404
    enc = urllib.parse.quote("hf://org/model", safe="")
    for method, path, data in [("GET", "/org/model/resolve/main/config.json", None),
                               ("HEAD", "/org/model/resolve/main/model.safetensors", None),
                               ("GET", "/api/models/org/model", None),
                               ("GET", "/api/models/org/model/revision/main", None),
                               ("GET", "/api/models/org/model/tree/main?recursive=true", None),
                               ("POST", "/api/models/org/model/paths-info/main", '{"paths": ["config.json"]}'),
                               ("POST", "/v1/pull", json.dumps({"ref": "hf://org/model@main"})),
                               ("DELETE", f"/v1/models/{enc}", None),
                               ("POST", f"/v1/models/{enc}/load", None),
                               ("POST", f"/v1/models/{enc}/unload", None),
                               ("GET", f"/v1/models/{enc}", None),
                               ("POST", f"/v1/infer/{enc}", '{"image": "AAAA"}')]:
        r, body = keyed.call(method, path, KEY_B, body=data)
        assert r.status == 403, (method, path, body)
        if method != "HEAD":
            err = json.loads(body)["error"]
            assert "hf://org/model" in err and "\n" not in err, err
    # A still has it, whole; B uses its own models.
    r, body = keyed.call("GET", "/v1/models", KEY_A)
    assert [m["model"] for m in json.loads(body)] == ["hf://org/model"]
    r, body = keyed.call("GET", "/org/model/resolve/main/model.safetensors", KEY_A)
    assert r.status == 200 and hashlib.sha256(body).hexdigest() == sha256_file(model / "model.safetensors")
    r, body = keyed.call("GET", "/org/other/resolve/main/README.md", KEY_B)
    assert r.status == 200 and body == b"other\n"
    r, body = keyed.call("GET", "/datasets/org/data/resolve/main/train.csv", KEY_B)
    assert r.status == 200 and body == b"a,b\n1,2\n"
    assert keyed.call("GET", "/org/other/resolve/main/README.md", KEY_A)[0].status == 403
    wait_pulls_done(keyed, {"Authorization": f"Bearer {KEY_B}"})  # the streamed GETs' snapshots are published
    r, body = keyed.call("GET", "/v1/models", KEY_B)
    assert sorted(m["model"] for m in json.loads(body)) == ["hf://datasets/org/data", "hf://org/other"]
    # The model manager's list is filtered the same way (this model.safetensors is
    # random bytes: its load FAILS, and a FAILED entry is listed like any other).
    r, body = keyed.call("POST", f"/v1/models/{enc}/load", KEY_A)
    assert r.status == 422 and json.loads(body)["state"] == "FAILED", body
    assert [m["model"] for m in json.loads(keyed.call("GET", "/v1/models?loaded=1", KEY_A)[1])] == ["hf://org/model"]
    assert json.loads(keyed.call("GET", "/v1/models?loaded=1", KEY_B)[1]) == []
    assert_cache_valid(mc.home)


def download(d, repo, cache_dir, key):
    proc = subprocess.run(["node", str(CLIENT), "download", d.url, repo, str(cache_dir), "main"],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin:/usr/local/bin", "HF_CACHE_ACCESS_TOKEN": key})
    return proc


def test_configured_repo_name_served_to_snapshot_download(mc, hub, keyed, local_model, tmp_path):
    if not (PEERS / "node_modules" / "@huggingface" / "hub").exists():
        pytest.fail("@huggingface/hub is missing: run scripts/install-deps.sh (npm install in tests/peers)")
    proc = download(keyed, "local/my-model", tmp_path / "hf-a", KEY_A)
    assert proc.returncode == 0, proc.stderr
    snap = Path(json.loads(proc.stdout.strip().splitlines()[-1])["path"])
    for f in LOCAL_FILES:
        assert sha256_file(snap / f) == sha256_file(local_model / f), f
    r, body = keyed.call("GET", "/api/models/local/my-model", KEY_A)
    info = json.loads(body)
    assert r.status == 200 and info["id"] == "local/my-model" and snap.name == info["sha"] and len(info["sha"]) == 40
    assert sorted(s["rfilename"] for s in info["siblings"]) == sorted(LOCAL_FILES)
    r, body = keyed.call("HEAD", "/local/my-model/resolve/main/weights.bin", KEY_A)
    assert r.status == 200 and r.getheader("X-Repo-Commit") == info["sha"]
    assert r.getheader("Content-Length") == "200000"
    # Other revisions and other names: the Hub's 404s.
    r, body = keyed.call("GET", "/api/models/local/my-model/revision/dev", KEY_A)
    assert r.status == 404 and r.getheader("X-Error-Code") == "RevisionNotFound", body
    r, body = keyed.call("GET", "/api/models/local/nope", KEY_A)
    assert r.status == 404 and r.getheader("X-Error-Code") == "RepoNotFound", body
    # Tenant A sees its origin in the list (the name and its REF are one model); B sees none of it.
    r, body = keyed.call("GET", "/v1/models", KEY_A)
    assert [m["model"] for m in json.loads(body)] == [f"file://{local_model}"]
    proc = download(keyed, "local/my-model", tmp_path / "hf-b", KEY_B)
    assert proc.returncode != 0
    assert keyed.call("GET", "/local/my-model/resolve/main/config.json", KEY_B)[0].status == 403
    assert_cache_valid(mc.home)


def test_upstream_token_comes_from_the_tenant_never_from_its_api_key(mc, tmp_path, fixture_factory):
    root = tmp_path / "hub"
    (root / "org" / "private").mkdir(parents=True)
    (root / "org" / "private" / "config.json").write_text('{"private": true}\n')
    hub = fixture_factory("hf_fixture.py", "--root", root, "--lfs-threshold", LFS_THRESHOLD, "--token", "hf_upstream")
    keys = keys_file(tmp_path / "keys.json", [
        {"name": "p", "key_sha256": sha(KEY_A), "models": ["org/*"], "upstream_token_env": "MC_TEST_TENANT_P_TOKEN"},
        {"name": "q", "key_sha256": sha(KEY_B), "models": ["org/*"]},
    ])
    mc.env["MC_TEST_TENANT_P_TOKEN"] = "hf_upstream"
    d = KeyedDaemon(mc, hub.url, tmp_path / "serve.log", "--api-keys", keys)
    try:
        r, body = d.call("GET", "/org/private/resolve/main/config.json", KEY_A)
        assert r.status == 200 and body == b'{"private": true}\n', body
        wait_pulls_done(d, {"Authorization": f"Bearer {KEY_A}"})
        # q's key is not forwarded and q has no upstream token: the upstream refuses, though cached.
        r, body = d.call("GET", "/org/private/resolve/main/config.json", KEY_B)
        assert r.status == 401 and r.getheader("X-Error-Code") == "RepoNotFound", body
    finally:
        assert d.stop() == 0, Path(d.log_path).read_text()
    out = d.output()
    assert "hf_upstream" not in out and KEY_A not in out and KEY_B not in out
    assert_cache_valid(mc.home)
