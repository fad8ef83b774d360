"""gs://BUCKET/PREFIX end to end: build/modelcache against tests/fixtures/gcs_fixture.py.

The peer is a FIXTURE that speaks the GCS JSON API (objects.list with pageToken,
alt=media with Range, md5Hash/crc32c, generations) and the OAuth 2.0 JWT bearer
token exchange, because no GCS emulator installs here. It enforces bearer tokens
and checks each JWT's RS256 signature with the service account's public key
(openssl), so a wrong key really fails. The key pair is made here with
`openssl genpkey`, and the service-account JSON points token_uri at the fixture.
"""
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import assert_cache_valid, sha256_file, write_random

EMAIL = "loader@fixture-project.iam.gserviceaccount.com"
BIG = 40 << 20  # above 2 x the default 16 MiB segment: fetched as parallel ranges


def openssl_key(directory, name):
    key = directory / f"{name}.pem"
    pub = directory / f"{name}.pub.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", str(key)], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(pub)], check=True,
                   capture_output=True)
    return key.read_text(), pub


def key_body(pem):
    """A line from the middle of a PEM: must never show up anywhere."""
    lines = [l for l in pem.splitlines() if l and not l.startswith("-----")]
    return lines[len(lines) // 2]


class Gcs:
    def __init__(self, fixture_factory, tmp_path):
        self.dir = tmp_path / "gcs"
        self.root = self.dir / "buckets"
        m = self.root / "weights" / "model"
        self.files = {
            "config.json": m / "config.json",
            "tokenizer/vocab.txt": m / "tokenizer" / "vocab.txt",
            "big/model.safetensors": m / "big" / "model.safetensors",
            "composite.bin": m / "composite.bin",
        }
        m.mkdir(parents=True)
        (m / "config.json").write_text('{"model_type": "gcs-test"}')
        (m / "tokenizer").mkdir()
        (m / "tokenizer" / "vocab.txt").write_text("a\nb\nc\n")
        write_random(m / "big" / "model.safetensors", BIG, seed=11)
        write_random(m / "composite.bin", 200_000, seed=12)
        write_random(self.root / "weights" / "bad" / "corrupt.bin", 300_000, seed=13)
        write_random(self.root / "weights" / "badcrc" / "corrupt.bin", 100_000, seed=14)
        (self.root / "weights" / "race").mkdir(parents=True)
        (self.root / "weights" / "race" / "a.bin").write_bytes(b"generation one\n")
        self.private_pem, pub = openssl_key(self.dir, "sa")
        self.fixture = fixture_factory(
            "gcs_fixture.py", "--root", self.root, "--require-auth",
            "--replaced-after-list", "weights/race/a.bin",
            "--account", f"{EMAIL}={pub}", "--static-token", "static-bearer-token",
            "--composite", "weights/model/composite.bin",
            "--corrupt", "weights/bad/corrupt.bin",
            "--composite", "weights/badcrc/corrupt.bin", "--corrupt", "weights/badcrc/corrupt.bin")
        self.key_file = self.write_account("sa.json", self.private_pem)
        # Without a scheme, like the emulators document it.
        self.env = {"STORAGE_EMULATOR_HOST": f"127.0.0.1:{self.fixture.port}",
                    "GOOGLE_APPLICATION_CREDENTIALS": str(self.key_file)}

    def write_account(self, name, private_pem):
        path = self.dir / name
        path.write_text(json.dumps({
            "type": "service_account", "project_id": "fixture-project",
            "private_key_id": "0f0f0f0f", "private_key": private_pem, "client_email": EMAIL,
            "client_id": "1", "token_uri": f"{self.fixture.url}/token"}))
        return path

    def stats(self):
        with urllib.request.urlopen(self.fixture.url + "/__stats") as r:
            return json.loads(r.read())

    def log(self):
        return self.fixture.log()

    def clear_log(self):
        req = urllib.request.Request(self.fixture.url + "/__log", method="DELETE")
        urllib.request.urlopen(req).read()

    def secrets(self):
        """Every secret value a leak check must not find."""
        return [key_body(self.private_pem), "static-bearer-token", *self.stats()["tokens_issued"]]


@pytest.fixture
def gcs(fixture_factory, tmp_path):
    return Gcs(fixture_factory, tmp_path)


def assert_no_secret(gcs, home, *outputs):
    values = gcs.secrets()
    for text in outputs:
        for v in values:
            assert v not in text, f"secret value leaked into output: {text[-300:]!r}"
    for path in Path(home).rglob("*"):
        if path.is_file() and not path.is_symlink() and "blobs" not in path.parts:
            data = path.read_bytes()
            for v in values:
                assert v.encode() not in data, f"secret value leaked into {path}"


def one_line_error(r):
    assert r.returncode != 0, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_nested_pull_with_big_object_one_token_exchange_and_no_leak(mc, gcs):
    r = mc.run("pull", "gs://weights/model", "--json", env=gcs.env, check=True)
    out = json.loads(r.stdout)
    snap = Path(out["path"])
    assert sorted(f["path"] for f in out["files"]) == sorted(gcs.files)
    for rel, src in gcs.files.items():
        assert (snap / rel).is_symlink()
        assert sha256_file(snap / rel) == sha256_file(src), rel
    stats = gcs.stats()
    assert stats["token_requests"] == 1, stats
    log = gcs.log()
    media = [e for e in log if "alt=media" in e["path"]]
    assert all(e["had_authorization"] for e in log if e["path"].startswith("/storage/")), log
    big = [e for e in media if "model%2Fbig%2Fmodel.safetensors" in e["path"]]
    assert len([e for e in big if e["range"]]) >= 2, big
    assert all("generation=" in e["path"] for e in media)
    manifest = json.loads((snap.parent / f"{snap.name}.json").read_text())
    digests = {f["path"]: f.get("origin_digest", "") for f in manifest["files"]}
    assert digests["composite.bin"].startswith("crc32c:"), digests  # composite: crc32c only
    assert digests["config.json"].startswith("md5:"), digests
    assert_cache_valid(mc.home)
    assert_no_secret(gcs, mc.home, r.stdout, r.stderr)


def test_pagination_cache_hit_and_changed_object(mc, gcs):
    env = {**gcs.env, "MODELCACHE_LIST_PAGE_SIZE": "2"}
    first = mc.pull_json("gs://weights/model", env=env)
    lists = [e["path"] for e in gcs.log() if e["path"].startswith("/storage/v1/b/weights/o?")]
    assert len(lists) == 2, lists  # 4 objects, 2 per page
    assert all("maxResults=2" in p for p in lists)
    assert any("pageToken=" in p for p in lists)
    assert first["bytes_downloaded"] == first["bytes_total"]

    gcs.clear_log()
    second = mc.pull_json("gs://weights/model", env=env)
    assert second["path"] == first["path"] and second["bytes_downloaded"] == 0
    assert gcs.log() == [], "a fresh ref must not touch the origin"

    # Listed again after the ref TTL: same snapshot, nothing downloaded.
    third = mc.pull_json("gs://weights/model", env={**env, "MODELCACHE_REF_TTL": "0"})
    assert third["snapshot"] == first["snapshot"] and third["bytes_downloaded"] == 0
    assert not [e for e in gcs.log() if "alt=media" in e["path"]]

    time.sleep(0.01)
    (gcs.files["config.json"]).write_text('{"model_type": "changed"}')
    fourth = mc.pull_json("gs://weights/model", env={**env, "MODELCACHE_REF_TTL": "0"})
    assert fourth["snapshot"] != first["snapshot"]
    assert fourth["bytes_downloaded"] == len('{"model_type": "changed"}')
    assert (Path(fourth["path"]) / "config.json").read_text() == '{"model_type": "changed"}'
    assert (Path(first["path"]) / "config.json").read_text() == '{"model_type": "gcs-test"}'
    assert_cache_valid(mc.home)


@pytest.mark.parametrize("prefix,algo", [("bad", "md5"), ("badcrc", "crc32c")])
def test_wrong_bytes_are_an_integrity_error_and_nothing_is_cached(mc, gcs, prefix, algo):
    r = mc.run("pull", f"gs://weights/{prefix}", env=gcs.env)
    line = one_line_error(r)
    assert f"{algo} mismatch" in line and "corrupt.bin" in line, line
    blobs = [p for p in (mc.home / "blobs").rglob("*") if p.is_file()]
    assert blobs == []
    assert not list((mc.home / "models").glob("*/snapshots/*/corrupt.bin"))
    assert_cache_valid(mc.home)


def test_a_key_the_token_endpoint_rejects_names_the_account_not_the_key(mc, gcs):
    other_pem, _ = openssl_key(gcs.dir, "other")
    wrong = gcs.write_account("wrong.json", other_pem)
    r = mc.run("pull", "gs://weights/model", env={**gcs.env,
                                                  "GOOGLE_APPLICATION_CREDENTIALS": str(wrong)})
    line = one_line_error(r)
    assert EMAIL in line and "Invalid JWT Signature" in line, line
    assert "PRIVATE KEY" not in line and key_body(other_pem) not in r.stderr + r.stdout
    assert gcs.stats()["token_requests"] == 1
    assert not [e for e in gcs.log() if e["path"].startswith("/storage/")]


def test_plain_bearer_token_and_missing_or_wrong_credentials(mc, gcs):
    env = {"STORAGE_EMULATOR_HOST": gcs.env["STORAGE_EMULATOR_HOST"],
           "GOOGLE_OAUTH_ACCESS_TOKEN": "static-bearer-token"}
    out = mc.pull_json("gs://weights/model/config.json", env=env)
    assert [f["path"] for f in out["files"]] == ["config.json"]  # one object: its base name
    assert gcs.stats()["token_requests"] == 0

    anonymous = {"STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{gcs.fixture.port}/"}
    line = one_line_error(mc.run("pull", "gs://weights/model/tokenizer", env=anonymous))
    assert "HTTP 401" in line and "GOOGLE_APPLICATION_CREDENTIALS" in line, line

    wrong = {**anonymous, "GOOGLE_OAUTH_ACCESS_TOKEN": "not-the-token"}
    r = mc.run("pull", "gs://weights/model/tokenizer", env=wrong)
    line = one_line_error(r)
    assert "GOOGLE_OAUTH_ACCESS_TOKEN" in line and "rejected" in line, line
    assert "not-the-token" not in r.stderr + r.stdout
    assert_no_secret(gcs, mc.home, r.stdout, r.stderr)


def test_missing_bucket_empty_prefix_and_offline(mc, gcs):
    line = one_line_error(mc.run("pull", "gs://no-such-bucket/model", env=gcs.env))
    assert "gs://no-such-bucket/model" in line and "bucket no-such-bucket not found" in line, line

    line = one_line_error(mc.run("pull", "gs://weights/nothing/here", env=gcs.env))
    assert "nothing/here" in line and "check the prefix" in line, line

    gcs.clear_log()
    tokens = gcs.stats()["token_requests"]
    line = one_line_error(mc.run("pull", "gs://weights/model", "--offline", env=gcs.env))
    assert "gs://weights/model" in line and "offline" in line, line
    assert gcs.log() == [] and gcs.stats()["token_requests"] == tokens

    pulled = mc.pull_json("gs://weights/model/tokenizer", env=gcs.env)
    gcs.clear_log()
    offline = mc.pull_json("gs://weights/model/tokenizer", "--offline",
                           env={**gcs.env, "MODELCACHE_REF_TTL": "0"})
    assert offline["path"] == pulled["path"]
    offline_env = mc.pull_json("gs://weights/model/tokenizer",
                               env={**gcs.env, "MODELCACHE_OFFLINE": "1"})
    assert offline_env["path"] == pulled["path"]
    assert gcs.log() == []
    assert_cache_valid(mc.home)


def test_object_replaced_during_download_is_a_clear_error(mc, gcs):
    """The listing pins each object's generation: an object replaced between the
    listing and its download is a 404 for the old generation, never a mix of old
    and new bytes (the fixture replaces race/a.bin right after each listing)."""
    r = mc.run("pull", "gs://weights/race", env=gcs.env)
    line = one_line_error(r)
    assert "a.bin" in line and "404" in line and "changed while downloading" in line, line
    assert "pull again" in line
    gets = [e for e in gcs.log() if "alt=media" in e["path"]]
    assert gets and all(e["status"] == 404 for e in gets), gets
    assert [p for p in (mc.home / "blobs").rglob("*") if p.is_file()] == []
    assert_cache_valid(mc.home)
