"""The ONNX loader end to end through `modelcache infer`: models built at test
time by tests/fixtures/onnx_models.py (its docstring says what each outputs),
images written here as PNG with zlib, the OpenCV plugin dlopened by the
statically linked binary."""
import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from conftest import FIXTURES, PYTHON, assert_cache_valid, modelcache_bin


def png_bytes(width, height, rgb):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def huge_png():
    """A valid header for 20000x20000 followed by a few bytes of data: must be
    refused from the header, before anything is allocated."""
    one = png_bytes(1, 1, (0, 0, 0))
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    return one[:16] + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)) + one[33:]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx")
    subprocess.run([PYTHON, str(FIXTURES / "onnx_models.py"), str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    files = {
        "red32": png_bytes(32, 32, (255, 0, 0)),
        "green32": png_bytes(32, 32, (0, 255, 0)),
        "red128": png_bytes(128, 128, (255, 0, 0)),
        "green128": png_bytes(128, 128, (0, 255, 0)),
        "red256x128": png_bytes(256, 128, (255, 0, 0)),
    }
    files["truncated"] = files["red128"][:60]
    files["huge"] = huge_png()
    files["text"] = b"hello, not an image\n"
    paths = {}
    for name, data in files.items():
        paths[name] = d / f"{name}.png"
        paths[name].write_bytes(data)
    return paths


def infer(mc, model, image, *flags):
    r = mc.run("infer", model, "--image", image, *flags)
    if r.returncode == 0:
        assert r.stderr == "", r
        return json.loads(r.stdout)
    return r


def error_line(r):
    assert r.returncode == 1, r
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r
    assert lines[0].startswith("modelcache: error: ")
    return lines[0][len("modelcache: error: "):]


def test_classifier_known_outputs(mc, models, images):
    out = infer(mc, models / "classifier", images["red32"])
    assert out["top"] == "red"
    assert out["confidence"] == pytest.approx(0.999909, abs=1e-5)
    assert out["image"] == {"width": 32, "height": 32}
    assert [p["class"] for p in out["predictions"]] == ["red", "green", "blue"]
    assert out["predictions"][0] == {"class": "red", "class_id": 0, "confidence": out["confidence"]}
    assert out["predictions"][1]["confidence"] == pytest.approx(1 / (2 + 2.718281828**10), rel=1e-3)
    out = infer(mc, models / "classifier", images["green32"], "--top-k", "1")
    assert out["top"] == "green" and len(out["predictions"]) == 1
    # A larger image of the same aspect: resized, same answer.
    assert infer(mc, models / "classifier", images["red128"])["top"] == "red"


def test_detector_known_boxes_nms_and_letterbox(mc, models, images):
    # Defaults (confidence 0.4, IoU 0.3): box 1 is suppressed by box 0, box 2 (0.3) filtered.
    out = infer(mc, models / "detector", images["red128"])
    assert out["image"] == {"width": 128, "height": 128}
    assert out["predictions"] == [{"x": 40.0, "y": 40.0, "width": 40.0, "height": 40.0,
                                   "confidence": pytest.approx(1.0, abs=1e-5), "class": "red", "class_id": 0}]
    out = infer(mc, models / "detector", images["green128"], "--confidence", "0.25", "--iou", "0.5")
    assert [(p["class"], p["x"], p["y"], p["width"]) for p in out["predictions"]] == [
        ("green", 40.0, 40.0, 40.0), ("green", 96.0, 96.0, 32.0)]
    assert out["predictions"][1]["confidence"] == pytest.approx(0.3, abs=1e-5)
    # IoU threshold above the boxes' 0.82 keeps both.
    out = infer(mc, models / "detector", images["red128"], "--iou", "0.9")
    assert [p["confidence"] for p in out["predictions"]] == [pytest.approx(1.0, abs=1e-5), pytest.approx(0.9, abs=1e-5)]
    # 256x128: scale 0.25, 16 rows of grey on top and bottom (so the mean red is
    # 0.5 + 0.5 * 114/255); box 0 maps to x 40..120, y -24..56 clipped to 0..56.
    out = infer(mc, models / "detector", images["red256x128"])
    assert out["image"] == {"width": 256, "height": 128}
    assert len(out["predictions"]) == 1
    p = out["predictions"][0]
    assert (p["x"], p["y"], p["width"], p["height"]) == (pytest.approx(80), pytest.approx(28), pytest.approx(80), pytest.approx(56))
    assert p["confidence"] == pytest.approx(0.5 + 0.5 * 114 / 255, abs=1e-4)


def test_bad_images_are_refused_with_one_line(mc, models, images):
    assert error_line(infer(mc, models / "classifier", images["truncated"])) == \
        "truncated PNG (a chunk runs past the end)"
    assert error_line(infer(mc, models / "classifier", images["huge"])) == \
        "image too large: 20000x20000 is over the limit of 50000000 pixels"
    assert error_line(infer(mc, models / "classifier", images["text"])) == \
        "unsupported image format: send PNG, JPEG or BMP"
    assert error_line(infer(mc, models / "classifier", images["red32"], "--top-k", "0")) == \
        "top_k must be at least 1"


def test_broken_models_fail_with_the_reason(mc, models, images):
    assert error_line(infer(mc, models / "corrupt", images["red32"])).startswith("model.onnx: not an ONNX model")
    # Parses as ONNX, OpenCV's importer throws: caught in the plugin, one line.
    msg = error_line(infer(mc, models / "unsupported", images["red32"]))
    assert msg.startswith("model.onnx: OpenCV: ") and "NoSuchOp" in msg, msg
    assert error_line(infer(mc, models / "bad-classes", images["red32"])) == \
        "class_names.txt has 2 names but the model outputs 3 classes"


def test_model_choice_and_config(mc, models, images, tmp_path):
    d = tmp_path / "two"
    shutil.copytree(models / "classifier", d)
    shutil.copy(models / "detector" / "model.onnx", d / "det.onnx")
    assert error_line(infer(mc, d, images["red32"])) == \
        '2 .onnx files in the snapshot (det.onnx, model.onnx, ...): name one in modelcache-model.json as {"file": ...}'
    (d / "modelcache-model.json").write_text('{"file": "model.onnx", "task": "classification"}')
    assert infer(mc, d, images["red32"])["top"] == "red"
    (d / "modelcache-model.json").write_text('{"file": "model.onnx", "task": "object-detection"}')
    assert "does not fit task object-detection" in error_line(infer(mc, d, images["red32"]))
    (d / "modelcache-model.json").write_text('{"file": "model.onnx", "tasks": "classification"}')
    assert error_line(infer(mc, d, images["red32"])) == \
        'modelcache-model.json: unknown key "tasks" (allowed: task, file)'
    (d / "modelcache-model.json").write_text('{"file": "../model.onnx"}')
    assert error_line(infer(mc, d, images["red32"])).startswith('modelcache-model.json: "file": ')
    (d / "modelcache-model.json").unlink()
    (d / "det.onnx").unlink()
    (d / "class_names.txt").unlink()
    assert error_line(infer(mc, d, images["red32"])).startswith("class_names.txt is missing")


def test_cached_model_and_plugin_lookup(mc, models, images, tmp_path):
    src = tmp_path / "src" / "cls"
    shutil.copytree(models / "classifier", src)
    snap = mc.pull_json(src)["path"]
    # By ref from the cache (the snapshot's files are links to blobs) and by path.
    assert infer(mc, f"file://{src}", images["red32"])["top"] == "red"
    assert infer(mc, snap, images["green32"])["top"] == "green"
    assert_cache_valid(mc.home)
    missing = tmp_path / "nowhere" / "libmodelcache_onnx.so"
    r = mc.run("infer", snap, "--image", images["red32"], env={"MODELCACHE_ONNX_PLUGIN": str(missing)})
    assert error_line(r).startswith(f"ONNX plugin not found at {missing}")
    # The plugin next to the binary is found without the variable.
    assert (Path(modelcache_bin()).parent / "libmodelcache_onnx.so").exists()
