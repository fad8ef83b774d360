"""POST /v1/infer end to end over HTTP: ONNX models built at test time
(tests/fixtures/onnx_models.py, whose docstring gives each model's outputs)
served by the Hub fixture, loaded by `modelcache serve`'s manager through the
OpenCV plugin. Known predictions for the classifier and the detector (base64
JSON and multipart), 32 concurrent requests over 3 models with --max-models 2
(all right, loads and evictions counted, each file downloaded once), malformed
images answered 4xx while the daemon keeps serving, a corrupt ONNX file FAILED
with its reason."""
import base64
import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import FIXTURES, PYTHON, sha256_file
from test_onnx_loader import huge_png, png_bytes
from test_serve_api import metrics
from test_serve_models import ModelDaemon, call, hub_log, load, loaded, multipart, seg

CLASSIFIER = "hf://org/classifier"
RENAMED = "hf://org/classifier-renamed"  # the same graph, other class names
DETECTOR = "hf://org/detector"

RED32 = png_bytes(32, 32, (255, 0, 0))
GREEN32 = png_bytes(32, 32, (0, 255, 0))
RED128 = png_bytes(128, 128, (255, 0, 0))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx")
    subprocess.run([PYTHON, str(FIXTURES / "onnx_models.py"), str(out)], check=True)
    return out


@pytest.fixture
def hub(tmp_path, fixture_factory, built):
    root = tmp_path / "hub"
    for name in ["classifier", "detector", "corrupt"]:
        shutil.copytree(built / name, root / "org" / name)
    shutil.copytree(built / "classifier", root / "org" / "classifier-renamed")
    (root / "org" / "classifier-renamed" / "class_names.txt").write_text("rouge\nvert\nbleu\n")
    h = fixture_factory("hf_fixture.py", "--root", root, "--lfs-threshold", 100)
    h.root = root
    return h


@pytest.fixture
def daemon(mc, hub, tmp_path):
    started = []

    def start(*flags):
        started.append(ModelDaemon(mc, hub.url, tmp_path / f"serve{len(started)}.log", *flags))
        return started[-1]

    yield start
    for d in started:
        assert d.stop() == 0, d.log_path.read_text()


def infer_json(d, model, image, **params):
    body = json.dumps({"image": base64.b64encode(image).decode(), **params}).encode()
    return call(d, "POST", f"/v1/infer/{seg(model)}", body, {"Content-Type": "application/json"})


def top(out):
    return out["top"], out["confidence"]


def test_classifier_and_detector_known_predictions(daemon):
    d = daemon()
    status, out = infer_json(d, CLASSIFIER, RED32)
    assert status == 200, out
    assert out["model"] == CLASSIFIER and out["time"] >= 0
    assert out["image"] == {"width": 32, "height": 32}
    assert top(out) == ("red", pytest.approx(0.999909, abs=1e-5))
    assert [p["class"] for p in out["predictions"]] == ["red", "green", "blue"]
    assert [p["class_id"] for p in out["predictions"]] == [0, 1, 2]

    status, out = infer_json(d, CLASSIFIER, GREEN32, top_k=1)
    assert status == 200 and top(out)[0] == "green" and len(out["predictions"]) == 1, out

    # Multipart, with the detector's thresholds as parts: box 1 is kept at IoU 0.9.
    body, headers = multipart([("image", RED128, "red.png"), ("iou", b"0.9", None)])
    status, out = call(d, "POST", f"/v1/infer/{seg(DETECTOR)}", body, headers)
    assert status == 200, out
    assert out["image"] == {"width": 128, "height": 128}
    assert [(p["class"], p["class_id"], p["x"], p["y"], p["width"], p["height"]) for p in out["predictions"]] == [
        ("red", 0, 40.0, 40.0, 40.0, 40.0), ("red", 0, 42.0, 42.0, 40.0, 40.0)]
    assert [p["confidence"] for p in out["predictions"]] == [pytest.approx(1.0, abs=1e-5),
                                                             pytest.approx(0.9, abs=1e-5)]
    # Defaults (confidence 0.4, IoU 0.3): NMS leaves box 0 alone.
    status, out = infer_json(d, DETECTOR, RED128)
    assert status == 200 and len(out["predictions"]) == 1, out

    models = loaded(d)
    assert models[CLASSIFIER]["format"] == "onnx" and models[CLASSIFIER]["task"] == "classification"
    assert models[DETECTOR]["task"] == "object-detection" and models[DETECTOR]["bytes"] > 0


def test_32_concurrent_requests_over_3_models_with_max_models_2(daemon, hub):
    d = daemon("--max-models", "2")
    expected = {CLASSIFIER: ("red", "green"), RENAMED: ("rouge", "vert")}

    def one(i):
        model = [CLASSIFIER, RENAMED, DETECTOR][i % 3]
        image = [RED32, GREEN32][i // 3 % 2]
        if model == DETECTOR:
            status, out = infer_json(d, model, RED128 if image == RED32 else png_bytes(128, 128, (0, 255, 0)))
            return status, out, model, ("red" if image == RED32 else "green")
        status, out = infer_json(d, model, image)
        return status, out, model, expected[model][0 if image == RED32 else 1]

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one, range(32)))
    for status, out, model, want in results:
        assert status == 200, (model, out)
        got = out["predictions"][0]["class"] if model == DETECTOR else out["top"]
        assert got == want, (model, out)

    assert len([m for m in loaded(d).values() if m["state"] == "READY"]) <= 2
    values, _ = metrics(d)
    loads = values['modelcache_model_loads_total{result="ok"}']
    evictions = values["modelcache_model_evictions_total"]
    assert loads >= 3 and evictions >= 1 and loads - evictions <= 2, values
    assert values['modelcache_requests_total{route="v1_infer",code="200"}'] == 32
    for model in [CLASSIFIER, RENAMED, DETECTOR]:
        assert values[f'modelcache_inferences_total{{model="{model}",result="ok"}}'] > 0
    # Every evicted model came back from the cache: each distinct file's bytes left
    # the origin once (the two classifiers share their model.onnx blob).
    files = {}
    for repo in ["classifier", "classifier-renamed", "detector"]:
        for f in (hub.root / "org" / repo).rglob("*"):
            if f.is_file():
                files[sha256_file(f)] = f.stat().st_size
    sent = sum(e["bytes_sent"] for e in hub_log(hub) if e["method"] == "GET" and e["status"] in (200, 206)
               and (e["listener"] == "lfs" or "/resolve/" in e["path"]))
    assert sent == sum(files.values()), (sent, files)


def test_malformed_images_get_4xx_and_the_daemon_keeps_serving(daemon):
    d = daemon()
    huge = huge_png()
    cases = [
        (json.dumps({"image": "not base64 !!"}).encode(), "base64"),
        (json.dumps({"image": base64.b64encode(RED32[:60]).decode()}).encode(), "truncated PNG"),
        (json.dumps({"image": base64.b64encode(huge).decode()}).encode(), "image too large: 20000x20000"),
        (json.dumps({"image": base64.b64encode(b"hello").decode()}).encode(), "unsupported image format"),
    ]
    for body, message in cases:
        status, out = call(d, "POST", f"/v1/infer/{seg(CLASSIFIER)}", body, {"Content-Type": "application/json"})
        assert status == 400 and message in out["error"], (message, out)
        assert "\n" not in out["error"]
    status, out = infer_json(d, CLASSIFIER, RED32)
    assert status == 200 and top(out)[0] == "red", out


def test_corrupt_onnx_is_failed_with_its_reason_and_never_served(daemon):
    d = daemon()
    status, out = load(d, "hf://org/corrupt")
    assert status == 422 and out["state"] == "FAILED", out
    assert out["error"].startswith("model.onnx: not an ONNX model"), out
    status, out = infer_json(d, "hf://org/corrupt", RED32)
    assert status == 422 and out["error"].startswith("model.onnx: not an ONNX model"), out
    assert loaded(d)["hf://org/corrupt"]["state"] == "FAILED"
    status, out = infer_json(d, CLASSIFIER, RED32)
    assert status == 200, out
