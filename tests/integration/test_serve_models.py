"""`modelcache serve`'s model manager and inference API (doc/INFERENCE.md):
POST /v1/models/{id}/load|unload, GET /v1/models, DELETE refused while loaded,
the LRU by count and by bytes, pinned and preloaded models, FAILED loads, and
POST /v1/infer's request checks. The models are small safetensors files written
here (the writer of test_inspect.py) and served by the Hub fixture, whose request
log proves that a reload after an eviction downloads nothing."""
import base64
import json
import struct
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import assert_cache_valid, sha256_file
from test_inspect import write_safetensors
from test_serve import Daemon
from test_serve_api import metrics

LFS_THRESHOLD = 1000  # every model file is an LFS file: its download shows in the fixture's log


def weights(path, n, seed):
    """A safetensors file holding one F32 tensor of n values."""
    return write_safetensors(path, [("w", "F32", [n], [float((i * seed) % 97) for i in range(n)])])


@pytest.fixture
def hub(tmp_path, fixture_factory):
    """org/m1, org/m2, org/m3 (about 40 KB each), org/big (about 160 KB), and
    org/bad, whose header's offsets run past its data."""
    root = tmp_path / "hub"
    for i, name in enumerate(["m1", "m2", "m3"], start=1):
        weights(root / "org" / name / "model.safetensors", 10_000, seed=i)
        (root / "org" / name / "config.json").write_text('{"id": %d}\n' % i)
    weights(root / "org" / "big" / "model.safetensors", 40_000, seed=7)
    header = json.dumps({"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}).encode()
    bad = root / "org" / "bad" / "model.safetensors"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 1200)  # 4000 promised, 1200 there
    h = fixture_factory("hf_fixture.py", "--root", root, "--lfs-threshold", LFS_THRESHOLD)
    h.root = root
    return h


class ModelDaemon(Daemon):
    """Daemon with the manager's flags and environment."""

    def __init__(self, mc, upstream, log_path, *flags, env=None):
        saved_cmd, saved_env = mc.cmd, mc.env
        mc.cmd = lambda *args: saved_cmd(*args, *flags)
        mc.env = {**saved_env, **(env or {})}
        try:
            super().__init__(mc, upstream, log_path)
        finally:
            mc.cmd, mc.env = saved_cmd, saved_env


@pytest.fixture
def start(mc, hub, tmp_path):
    daemons = []

    def run(*flags, env=None):
        d = ModelDaemon(mc, hub.url, tmp_path / f"serve{len(daemons)}.log", *flags, env=env)
        daemons.append(d)
        return d

    yield run
    for d in daemons:
        assert d.stop() == 0, Path(d.log_path).read_text()


def seg(model_id):
    return urllib.parse.quote(model_id, safe="")


def call(d, method, path, body=None, headers=None):
    r, data = d.request(method, path, body=body, headers=headers)
    assert r.getheader("Content-Type", "").startswith("application/json"), (path, r.status, data)
    return r.status, json.loads(data)


def load(d, model_id):
    return call(d, "POST", f"/v1/models/{seg(model_id)}/load")


def loaded(d):
    status, out = call(d, "GET", "/v1/models?loaded=1")
    assert status == 200, out
    return {m["model"]: m for m in out}


def hub_log(hub):
    return json.loads(urllib.request.urlopen(hub.url + "/__log").read())


def clear_hub_log(hub):
    urllib.request.urlopen(urllib.request.Request(hub.url + "/__log", method="DELETE")).read()


def size(hub, name):
    return (hub.root / "org" / name / "model.safetensors").stat().st_size


def test_load_list_unload_and_delete(mc, hub, start, tmp_path):
    d = start()
    status, out = load(d, "hf://org/m1")
    assert status == 200, out
    assert out["model"] == "hf://org/m1" and out["state"] == "READY"
    assert out["format"] == "safetensors" and out["task"] == ""
    assert out["bytes"] == size(hub, "m1") and out["load_seconds"] >= 0
    snap = out["snapshot"]
    assert sha256_file(Path(snap) / "model.safetensors") == sha256_file(hub.root / "org/m1/model.safetensors")

    # GET /v1/models: the cached snapshots as before, each with the models loaded from it.
    status, models = call(d, "GET", "/v1/models")
    assert status == 200 and len(models) == 1, models
    assert models[0]["path"] == snap and models[0]["model"] == "hf://org/m1"
    assert [m["model"] for m in models[0]["loaded"]] == ["hf://org/m1"]
    entry = loaded(d)["hf://org/m1"]
    assert entry["state"] == "READY" and entry["pinned"] is False and entry["last_use"] > 0
    assert entry["error"] is None and entry["in_use"] == 0
    status, one = call(d, "GET", f"/v1/models/{seg('hf://org/m1')}")
    assert status == 200 and one["state"] == "READY", one

    # A local directory is a model id too (file://), percent-encoded as one segment.
    local = tmp_path / "local"
    weights(local / "model.safetensors", 100, seed=3)
    status, out = load(d, f"file://{local}")
    assert status == 200 and out["state"] == "READY", out
    assert d.request("POST", f"/v1/models/file://{local}/load")[0].status == 404  # not one segment

    # DELETE is refused while loaded; nothing is removed.
    status, out = call(d, "DELETE", f"/v1/models/{seg('hf://org/m1')}")
    assert status == 409 and "unload it first" in out["error"] and out["loaded"] == ["hf://org/m1"], out
    assert (Path(snap) / "model.safetensors").exists()

    # Unload frees the model, never the files; a second unload is a 404.
    status, out = call(d, "POST", f"/v1/models/{seg('hf://org/m1')}/unload")
    assert status == 200 and out["state"] == "UNLOADED", out
    assert "hf://org/m1" not in loaded(d)
    assert sha256_file(Path(snap) / "model.safetensors") == sha256_file(hub.root / "org/m1/model.safetensors")
    status, out = call(d, "POST", f"/v1/models/{seg('hf://org/m1')}/unload")
    assert status == 404 and "not loaded" in out["error"], out
    assert call(d, "GET", f"/v1/models/{seg('hf://org/m1')}")[0] == 404

    # ?force=1 unloads first, then removes.
    assert load(d, "hf://org/m1")[0] == 200
    status, out = call(d, "DELETE", f"/v1/models/{seg('hf://org/m1')}?force=1")
    assert status == 200 and out["removed"], out
    assert "hf://org/m1" not in loaded(d) and not Path(snap).exists()

    # Bad ids and methods: clear 4xx.
    status, out = load(d, "nonsense")
    assert status == 400 and "model id" in out["error"], out
    assert call(d, "GET", f"/v1/models/{seg('hf://org/m1')}/load")[0] == 405
    assert_cache_valid(mc.home)


def test_lru_by_count_evicts_and_reloads_without_download(hub, start):
    d = start("--max-models", "2")
    for name in ["m1", "m2", "m3"]:
        status, out = load(d, f"hf://org/{name}")
        assert status == 200, out
    assert set(loaded(d)) == {"hf://org/m2", "hf://org/m3"}
    values, _ = metrics(d)
    assert values["modelcache_model_evictions_total"] == 1
    assert values['modelcache_model_evictions_by_model_total{model="hf://org/m1"}'] == 1
    assert values['modelcache_model_loads_total{result="ok"}'] == 3
    assert values["modelcache_model_load_seconds_total"] > 0
    fetched = values["modelcache_fetched_bytes_total"]

    # m2 is used: m3 becomes the least recently used, and goes for m1.
    assert call(d, "GET", f"/v1/models/{seg('hf://org/m2')}")[0] == 200  # a look is not a use
    status, out = call(d, "POST", f"/v1/infer/{seg('hf://org/m2')}", json.dumps({"image": "aGk="}),
                       {"Content-Type": "application/json"})
    assert status == 400, out  # safetensors has no task, but the model was used
    clear_hub_log(hub)
    status, out = load(d, "hf://org/m1")
    assert status == 200, out
    assert set(loaded(d)) == {"hf://org/m1", "hf://org/m2"}
    # The reload came from the cache: no request reached the Hub, nothing was fetched.
    assert hub_log(hub) == []
    values, _ = metrics(d)
    assert values["modelcache_fetched_bytes_total"] == fetched
    assert values["modelcache_model_evictions_total"] == 2


def test_memory_budget_keeps_one_and_refuses_a_model_over_it(hub, start):
    # A budget of 1.5 models: the second load evicts the first.
    budget = size(hub, "m1") * 3 // 2
    d = start("--memory-budget", str(budget))
    assert load(d, "hf://org/m1")[0] == 200
    assert load(d, "hf://org/m2")[0] == 200
    assert set(loaded(d)) == {"hf://org/m2"}
    # A model over the whole budget is FAILED with the reason; the loaded one stays.
    status, out = load(d, "hf://org/big")
    assert status == 422 and out["state"] == "FAILED", out
    assert "more than the whole memory budget" in out["error"] and "--memory-budget" in out["error"], out
    models = loaded(d)
    assert models["hf://org/m2"]["state"] == "READY"
    assert models["hf://org/big"]["state"] == "FAILED" and models["hf://org/big"]["bytes"] == 0


def test_bad_memory_budget_is_a_clear_error(mc):
    r = mc.run("serve", "--listen", "127.0.0.1:0", "--memory-budget", "lots")
    assert r.returncode != 0 and "--memory-budget 'lots' is not a size" in r.stderr, r


def test_pinned_survives_pressure_and_preload_does_not(hub, start):
    d = start("--max-models", "2", env={"PINNED_MODELS": "hf://org/m1", "PRELOAD_MODELS": " hf://org/m2 ,"})
    models = loaded(d)  # both loaded before the daemon listened
    assert models["hf://org/m1"]["state"] == "READY" and models["hf://org/m1"]["pinned"] is True
    assert models["hf://org/m2"]["state"] == "READY" and models["hf://org/m2"]["pinned"] is False
    for name in ["m3", "m2", "m3"]:
        assert load(d, f"hf://org/{name}")[0] == 200
        assert "hf://org/m1" in loaded(d)
    assert set(loaded(d)) == {"hf://org/m1", "hf://org/m3"}
    values, _ = metrics(d)
    assert 'modelcache_model_evictions_by_model_total{model="hf://org/m1"}' not in values
    assert values['modelcache_model_loads_by_model_total{model="hf://org/m1",result="ok"}'] == 1


def test_max_active_models_env(hub, start):
    d = start(env={"MAX_ACTIVE_MODELS": "1"})
    assert load(d, "hf://org/m1")[0] == 200
    assert load(d, "hf://org/m2")[0] == 200
    assert set(loaded(d)) == {"hf://org/m2"}


def multipart(fields, boundary="XyZbound"):
    body = b""
    for name, value, filename in fields:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disp}\r\n\r\n".encode() + value + b"\r\n"
    return body + f"--{boundary}--\r\n".encode(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def test_failed_load_and_malformed_infer_requests(mc, hub, start):
    d = start()
    bad = seg("hf://org/bad")
    status, out = load(d, "hf://org/bad")
    assert status == 422 and out["state"] == "FAILED", out
    assert "run past the data section" in out["error"] and "\n" not in out["error"], out
    assert loaded(d)["hf://org/bad"]["error"] == out["error"]
    # Inference on a FAILED model answers its reason without loading again.
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    status, out2 = call(d, "POST", f"/v1/infer/{bad}", json.dumps({"image": png}), {"Content-Type": "application/json"})
    assert status == 422 and out2["error"] == out["error"], out2
    values, _ = metrics(d)
    assert values['modelcache_model_loads_total{result="failed"}'] == 1
    # An explicit load tries again (and fails again).
    assert load(d, "hf://org/bad")[0] == 422
    assert metrics(d)[0]['modelcache_model_loads_total{result="failed"}'] == 2

    m1 = seg("hf://org/m1")
    json_ct = {"Content-Type": "application/json"}
    # Body checks come first (no load for a bad body): each a 400 with one clear line.
    cases = [
        (json.dumps({"image": "not base64!"}), json_ct, "not valid base64"),
        ("{nope", json_ct, "not JSON"),
        (json.dumps({"confidence": 0.5}), json_ct, '"image" (a base64 string) is missing'),
        (json.dumps({"image": png, "confidence": 2}), json_ct, '"confidence" must be a number from 0 to 1'),
        (json.dumps({"image": png, "top_k": 0}), json_ct, '"top_k" must be an integer'),
        (json.dumps({"image": ""}), json_ct, "the image is empty"),
        (b"raw bytes", {"Content-Type": "image/png"}, "multipart/form-data"),
        (b"--other\r\n\r\n", {"Content-Type": "multipart/form-data; boundary=XyZbound"}, "malformed multipart"),
        (b"--XyZbound\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\nabc",
         {"Content-Type": "multipart/form-data; boundary=XyZbound"}, "not closed by the boundary"),
        (multipart([("confidence", b"0.5", None)])[0], multipart([])[1], 'no "image" part'),
        (b"x", {"Content-Type": "multipart/form-data"}, "boundary"),
    ]
    for body, headers, message in cases:
        status, out = call(d, "POST", f"/v1/infer/{m1}", body, headers)
        assert status == 400 and message in out["error"], (body, out)
    assert "hf://org/m1" not in loaded(d)

    # Well-formed: loads on demand, and the safetensors model says it has no task.
    for body, headers in [(json.dumps({"image": png, "confidence": 0.3, "iou": 0.4, "top_k": 3}), json_ct),
                          multipart([("image", b"\x89PNG\r\n\x1a\n", "x.png"), ("top_k", b"2", None)])]:
        status, out = call(d, "POST", f"/v1/infer/{m1}", body, headers)
        assert status == 400 and out["error"].startswith("safetensors models have no inference task"), out
    assert loaded(d)["hf://org/m1"]["state"] == "READY"
    values, _ = metrics(d)
    assert values['modelcache_inferences_total{model="hf://org/m1",result="error"}'] == 2

    # The infer route takes bodies up to 16 MiB; every other route keeps 1 MiB.
    big = json.dumps({"image": base64.b64encode(b"\0" * (2 << 20)).decode()})
    status, out = call(d, "POST", f"/v1/infer/{m1}", big, json_ct)
    assert status == 400 and "no inference task" in out["error"], out
    status, out = call(d, "POST", "/v1/pull", big, json_ct)
    assert status == 413 and "over the limit of 1048576 bytes" in out["error"], out
    c = d.conn()  # the head alone: refused before any of the body is read
    c.putrequest("POST", f"/v1/infer/{m1}")
    c.putheader("Content-Type", "application/json")
    c.putheader("Content-Length", str((16 << 20) + 1))
    c.endheaders()
    r = c.getresponse()
    assert r.status == 413 and "over the limit of 16777216 bytes" in json.loads(r.read())["error"]
    c.close()
    assert call(d, "GET", f"/v1/infer/{m1}")[0] == 405
    assert call(d, "POST", "/v1/infer/hf:/a/b", "{}", json_ct)[0] == 404

    # The daemon kept serving through all of it.
    r, _ = d.request("GET", "/healthz")
    assert r.status == 200
    assert load(d, "hf://org/m2")[0] == 200
    assert_cache_valid(mc.home)


def test_concurrent_loads_over_more_models_than_slots(hub, start):
    """12 clients load 3 models round-robin with --max-models 2: every answer is
    READY, at most 2 stay loaded, and each file left the Hub once."""
    from concurrent.futures import ThreadPoolExecutor

    d = start("--max-models", "2")

    def client(i):
        return [load(d, f"hf://org/m{(i + r) % 3 + 1}") for r in range(4)]

    with ThreadPoolExecutor(12) as pool:
        answers = [a for batch in pool.map(client, range(12)) for a in batch]
    assert all(status == 200 and out["state"] == "READY" for status, out in answers), answers
    assert len(loaded(d)) <= 2
    lfs_gets = [e["path"].split("?")[0] for e in hub_log(hub) if e["listener"] == "lfs" and e["method"] == "GET"]
    assert len(lfs_gets) == len(set(lfs_gets)) == 3, lfs_gets
    values, _ = metrics(d)
    assert values['modelcache_model_loads_total{result="failed"}'] == 0
    assert values['modelcache_model_loads_total{result="ok"}'] == values["modelcache_model_evictions_total"] + len(loaded(d))
