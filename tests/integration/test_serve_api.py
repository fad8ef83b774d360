"""`modelcache serve`'s own API (/v1/pull, /v1/jobs, /v1/models) and /metrics,
against the Hub fixture as upstream (fixtures shared with test_serve.py)."""
import hashlib
import json
import re
import time
import urllib.parse
from pathlib import Path

from conftest import assert_cache_valid, free_port, sha256_file
from test_manage import Holder
from test_serve import MODEL_FILES, Daemon, daemon, hub, slow_hub, upstream_body_bytes  # noqa: F401 (fixtures)

SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? '
                    r'(-?[0-9.e+-]+|\+Inf|NaN)$')


def call(daemon, method, path, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    r, data = daemon.request(method, path, body=body, headers=headers)
    assert r.getheader("Content-Type", "").startswith("application/json"), (path, data)
    return r.status, json.loads(data)


def start_pull(daemon, **body):
    status, out = call(daemon, "POST", "/v1/pull", json.dumps(body))
    assert status == 202, out
    return out["job"]


def wait_job(daemon, job):
    deadline = time.time() + 30
    while time.time() < deadline:
        status, out = call(daemon, "GET", f"/v1/jobs/{job}")
        assert status == 200, out
        if out["state"] != "running":
            return out
        time.sleep(0.05)
    raise AssertionError(f"job {job} still running: {out}")


def metrics(daemon):
    r, data = daemon.request("GET", "/metrics")
    assert r.status == 200 and r.getheader("Content-Type").startswith("text/plain; version=0.0.4")
    text = data.decode()
    values = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) modelcache_[a-z_]+ .+$", line), line
            continue
        assert SAMPLE.match(line), line
        name, value = line.rsplit(" ", 1)
        values[name] = float(value)
    return values, len(data)


def test_pull_job_then_list_and_delete(mc, hub, daemon):
    model = hub.root / "org" / "model"
    job = start_pull(daemon, ref="hf://org/model")
    out = wait_job(daemon, job)
    assert out["state"] == "done", out
    snap = out["snapshot"]
    for f in MODEL_FILES:
        assert sha256_file(f"{snap}/{f}") == sha256_file(model / f), f
    size = sum((model / f).stat().st_size for f in MODEL_FILES)
    assert out["files_done"] == out["files_total"] == len(MODEL_FILES)
    assert out["bytes_done"] == out["bytes_total"] == size

    # A filtered pull is its own job; the store answers it.
    out = wait_job(daemon, start_pull(daemon, ref="hf://org/model", allow=["*.json"], ignore=["sub/*"]))
    assert out["state"] == "done" and out["files_total"] == 1 and out["bytes_total"] == 0

    status, models = call(daemon, "GET", "/v1/models")
    assert status == 200 and len(models) == 1, models
    m = models[0]
    assert m["model"] == "hf://org/model" and m["revisions"] == ["main"] and m["path"] == snap
    assert m["bytes"] == size and m["files"] == len(MODEL_FILES) and m["last_used"] > 0
    assert len(m["snapshot"]) == 40

    # A process holding the snapshot's lease: 409, and every file stays.
    mc.env["HF_ENDPOINT"] = hub.url
    holder = Holder(mc, "hf://org/model")
    try:
        status, out = call(daemon, "DELETE", "/v1/models/" + urllib.parse.quote("hf://org/model@main", safe=""))
        assert status == 409 and out["skipped"] == [f"hf://org/model@{m['snapshot']}"], out
        assert "in use" in out["error"] and out["removed"] == []
        for f in MODEL_FILES:
            assert sha256_file(f"{snap}/{f}") == sha256_file(model / f), f
    finally:
        holder.stop()

    # @snapshot-prefix of an absent one, then the whole model, then again: gone.
    status, out = call(daemon, "DELETE", "/v1/models/" + urllib.parse.quote("hf://org/model@0000000", safe=""))
    assert status == 404 and "not in the cache" in out["error"], out
    status, out = call(daemon, "DELETE", "/v1/models/" + urllib.parse.quote("hf://org/model", safe=""))
    assert status == 200 and out["removed"] == [f"hf://org/model@{m['snapshot']}"] and out["bytes_freed"] == size
    assert call(daemon, "GET", "/v1/models") == (200, [])
    status, out = call(daemon, "DELETE", "/v1/models/" + urllib.parse.quote("hf://org/model", safe=""))
    assert status == 404 and "\n" not in out["error"], out
    assert_cache_valid(mc.home)


def test_bad_requests_and_failed_job(mc, hub, daemon):
    status, out = call(daemon, "POST", "/v1/pull", "{not json")
    assert status == 400 and out["error"].startswith("request body is not JSON: ") and "\n" not in out["error"]
    status, out = call(daemon, "POST", "/v1/pull", json.dumps({"allow": ["*"]}))
    assert status == 400 and '"ref"' in out["error"], out
    status, out = call(daemon, "POST", "/v1/pull", json.dumps({"ref": "hf://org/../x"}))
    assert status == 400 and out["error"], out
    status, out = call(daemon, "POST", "/v1/pull", json.dumps({"ref": "hf://org/model", "allow": "*.json"}))
    assert status == 400 and '"allow"' in out["error"], out
    assert call(daemon, "GET", "/v1/pull")[0] == 405
    status, out = call(daemon, "GET", "/v1/jobs/0123456789abcdef")
    assert status == 404 and "no job" in out["error"], out

    out = wait_job(daemon, start_pull(daemon, ref="hf://org/missing"))
    assert out["state"] == "failed" and out["error"] and "\n" not in out["error"], out
    assert "snapshot" not in out
    assert call(daemon, "GET", "/v1/models") == (200, [])
    assert_cache_valid(mc.home)


def test_metrics_count_bytes_hits_and_misses(mc, hub, daemon):
    lfs = (hub.root / "org" / "model" / "model.safetensors").read_bytes()
    m0, len0 = metrics(daemon)
    for name in ("served_bytes_total", "fetched_bytes_total", "cache_hits_total", "cache_misses_total",
                 "upstream_errors_total", "pulls_in_flight"):
        assert m0[f"modelcache_{name}"] == 0, name

    r, body = daemon.request("GET", "/org/model/resolve/main/model.safetensors")  # cold: a pull
    assert r.status == 200 and hashlib.sha256(body).digest() == hashlib.sha256(lfs).digest()
    # The GET streamed: it ended once its file was verified, the pull a moment later.
    polls = []
    while True:
        m1, len1 = metrics(daemon)
        if m1["modelcache_pulls_in_flight"] == 0:
            break
        polls.append(len1)
        time.sleep(0.05)
    len0 += sum(polls)
    upstream = sum(upstream_body_bytes(hub.log()).values())
    assert upstream > len(lfs)
    assert m1["modelcache_fetched_bytes_total"] == upstream
    assert m1["modelcache_served_bytes_total"] == len0 + len(lfs)  # the first /metrics body counts too
    assert (m1["modelcache_cache_misses_total"], m1["modelcache_cache_hits_total"]) == (1, 0)
    assert m1['modelcache_requests_total{route="resolve",code="200"}'] == 1
    assert m1['modelcache_requests_total{route="metrics",code="200"}'] == 1 + len(polls)

    r, body = daemon.request("GET", "/org/model/resolve/main/config.json")  # warm: the store
    assert r.status == 200
    r, missing = daemon.request("GET", "/org/model/resolve/main/nope.bin")
    assert r.status == 404
    m2, _ = metrics(daemon)
    assert m2["modelcache_fetched_bytes_total"] == upstream
    assert m2["modelcache_served_bytes_total"] == len0 + len(lfs) + len1 + len(body) + len(missing)
    assert (m2["modelcache_cache_misses_total"], m2["modelcache_cache_hits_total"]) == (1, 2)
    assert m2['modelcache_requests_total{route="resolve",code="200"}'] == 2
    assert m2['modelcache_requests_total{route="resolve",code="404"}'] == 1
    assert m2['modelcache_request_duration_seconds_count{route="resolve"}'] == 3
    assert m2['modelcache_request_duration_seconds_bucket{route="resolve",le="+Inf"}'] == 3
    # Cumulative buckets, in the order rendered (le ascending, +Inf last).
    buckets = [v for k, v in m2.items() if k.startswith('modelcache_request_duration_seconds_bucket{route="resolve",')]
    assert len(buckets) == 11 and buckets == sorted(buckets), buckets
    assert m2["modelcache_pulls_in_flight"] == 0
    assert m2["modelcache_upstream_errors_total"] == 0
    assert_cache_valid(mc.home)


def test_unreachable_upstream_fails_the_job_and_counts(mc, tmp_path):
    mc.env.update({"MODELCACHE_MAX_ATTEMPTS": "1", "MODELCACHE_BACKOFF_MS": "1"})
    d = Daemon(mc, f"http://127.0.0.1:{free_port()}", tmp_path / "serve.log")
    try:
        out = wait_job(d, start_pull(d, ref="hf://org/model"))
        assert out["state"] == "failed" and "cannot reach" in out["error"] and "\n" not in out["error"], out
        m, _ = metrics(d)
        assert m["modelcache_upstream_errors_total"] == 1 and m["modelcache_cache_misses_total"] == 1
        assert m["modelcache_pulls_in_flight"] == 0 and m["modelcache_fetched_bytes_total"] == 0
        assert m['modelcache_requests_total{route="v1_pull",code="202"}'] == 1
    finally:
        assert d.stop() == 0
    assert_cache_valid(mc.home)


def test_job_progress_while_running_then_sigterm(mc, tmp_path, fixture_factory, nginx_factory):
    # LFS bytes from a rate-limited nginx: the job is still running when we look.
    hub = slow_hub(tmp_path, fixture_factory, nginx_factory, 4 << 20, seed=55)
    d = Daemon(mc, hub.url, tmp_path / "serve.log")
    job = start_pull(d, ref="hf://org/big")
    deadline = time.time() + 10
    while time.time() < deadline:
        status, out = call(d, "GET", f"/v1/jobs/{job}")
        if out["bytes_done"] > 0:
            break
        time.sleep(0.05)
    assert out["state"] == "running" and out["files_total"] == 2, out
    assert 0 < out["bytes_done"] < out["bytes_total"] == (4 << 20) + 3, out
    m, _ = metrics(d)
    assert m["modelcache_pulls_in_flight"] == 1
    started = time.time()
    assert d.stop() == 0, Path(d.log_path).read_text()
    assert time.time() - started < 10
    assert not list(mc.home.glob("models/*/snapshots/*/weights.bin"))
    assert_cache_valid(mc.home)
