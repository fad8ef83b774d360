"""s3:// pulls against moto's S3 server with authentication enforced.

moto_server (pyenv Python, on PATH) runs on 127.0.0.1 with an ephemeral port.
An IAM user and access key are created through moto's IAM API, then
`POST /moto-api/reset-auth` with body `0` turns signature checking on: from
then on every request must carry a valid SigV4 signature of a known key (a wrong
secret gets 403 SignatureDoesNotMatch). Objects are uploaded with awscli.

moto 5.2 with auth on rebuilds the canonical request from a percent-DECODED
URL, so it rejects every correct signature whose path holds '+', '@', '=' or
non-ASCII characters, or whose query holds an encoded character such as the
'/' of `prefix=a%2Fb` (botocore's own requests fail the same way). The tests
under auth therefore use single-segment prefixes (s3://models/llm) and
root-level objects; the odd-key and nested-prefix test turns auth off for its
duration. Signatures of such requests are checked against reference vectors in
tests/unit/source/aws_sigv4_test.cpp.
"""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import Modelcache, assert_cache_valid, free_port, sha256_file, write_random

REGION = "us-east-1"
MIB = 1 << 20


def _tool(name):
    path = shutil.which(name)
    if not path:
        pytest.fail(f"{name} not found on PATH (the pyenv Python with moto/awscli must be on PATH)")
    return path


class Moto:
    """moto_server with an IAM user whose key must sign every request."""

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "moto.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([_tool("moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"moto_server did not start: {self.log_path.read_text()}")
                time.sleep(0.1)
        # awscli reads its settings only from these files: nothing from ~/.aws.
        self.aws_config = self.workdir / "aws-config"
        self.aws_config.write_text(f"[default]\nregion = {REGION}\n")
        self.aws_config_single_part = self.workdir / "aws-config-single-part"
        self.aws_config_single_part.write_text(
            f"[default]\nregion = {REGION}\ns3 =\n    multipart_threshold = 100MB\n")
        self.key_id, self.secret = self._create_user()
        self.set_auth(True)

    def _create_user(self):
        env = self.aws_env("bootstrap", "bootstrap")  # not checked before reset-auth
        policy = json.dumps({"Version": "2012-10-17",
                             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
        self.aws("iam", "create-user", "--user-name", "mc", env=env)
        self.aws("iam", "put-user-policy", "--user-name", "mc", "--policy-name", "all",
                 "--policy-document", policy, env=env)
        key = json.loads(self.aws("iam", "create-access-key", "--user-name", "mc", env=env))["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def set_auth(self, on):
        req = urllib.request.Request(f"{self.url}/moto-api/reset-auth", data=b"0" if on else b"inf",
                                     method="POST", headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(req) as r:
            assert json.loads(r.read())["status"] == "ok"

    def aws_env(self, key_id=None, secret=None, config=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": key_id or self.key_id,
                    "AWS_SECRET_ACCESS_KEY": secret or self.secret,
                    "AWS_CONFIG_FILE": str(config or self.aws_config),
                    "AWS_SHARED_CREDENTIALS_FILE": str(self.workdir / "none"),
                    "AWS_EC2_METADATA_DISABLED": "true"})
        return env

    def aws(self, *args, env=None, config=None):
        r = subprocess.run([_tool("aws"), "--endpoint-url", self.url, "--output", "json", *args],
                           env=env or self.aws_env(config=config), capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, f"aws {' '.join(args[:3])}: {r.stderr}"
        return r.stdout

    def requests(self, *needles):
        """Request lines of moto's access log that contain every one of `needles`."""
        self.log.flush()
        return [l for l in self.log_path.read_text().splitlines() if all(n in l for n in needles)]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    work = tmp_path_factory.mktemp("moto")
    m = Moto(work)
    # The data set, uploaded once: small files in nested folders, a name with a
    # space, a 17 MiB object uploaded as multipart (ETag "...-3"), a 33 MiB one
    # uploaded as a single part (ETag = MD5: ranged fetch checked against MD5).
    src = work / "src"
    write_random(src / "config.json", 300, seed=11)
    write_random(src / "tokenizer" / "vocab.txt", 5000, seed=12)
    write_random(src / "tokenizer" / "merges.txt", 7000, seed=13)
    write_random(src / "nested" / "deeper" / "a b.bin", 1234, seed=14)
    write_random(src / "multipart.bin", 17 * MIB, seed=15)
    write_random(work / "readme.txt", 900, seed=17)
    big = work / "big"
    write_random(big / "single.bin", 33 * MIB + 5, seed=16)
    m.aws("s3", "mb", "s3://models")
    m.aws("s3", "cp", "--recursive", "--only-show-errors", str(src), "s3://models/llm/")
    m.aws("s3", "cp", "--only-show-errors", str(big / "single.bin"), "s3://models/llm/single.bin",
          config=m.aws_config_single_part)
    m.aws("s3", "cp", "--only-show-errors", str(work / "readme.txt"), "s3://models/readme.txt")
    m.readme_sha = sha256_file(work / "readme.txt")
    m.files = {str(p.relative_to(src)): sha256_file(p) for p in src.rglob("*") if p.is_file()}
    m.files["single.bin"] = sha256_file(big / "single.bin")
    yield m
    m.stop()


def s3_env(moto, **extra):
    env = {"AWS_ENDPOINT_URL": moto.url, "AWS_ACCESS_KEY_ID": moto.key_id,
           "AWS_SECRET_ACCESS_KEY": moto.secret}
    env.update(extra)
    return env


@pytest.fixture
def mcs(tmp_path):
    """Modelcache without any AWS_* variable of the outer environment and a HOME
    without ~/.aws."""
    m = Modelcache(tmp_path / "cache")
    m.env = {k: v for k, v in m.env.items() if not k.startswith("AWS_")}
    home = tmp_path / "home"
    home.mkdir()
    m.env["HOME"] = str(home)
    return m


def upload(moto, tmp_path, key, size, seed, *flags):
    path = write_random(tmp_path / "up" / key.replace("/", "_"), size, seed=seed)
    moto.aws("s3", "cp", "--only-show-errors", *flags, str(path), f"s3://{key}")
    return sha256_file(path)


def snapshot_dirs(home):
    return sorted(p.name for p in Path(home).glob("models/*/snapshots/*") if p.is_dir())


def manifest_of(snapshot_path):
    return json.loads(Path(str(snapshot_path) + ".json").read_text())


def test_pull_verifies_every_file_and_a_second_pull_is_a_hit(moto, mcs):
    ranged_before = len(moto.requests("GET /models/llm/single.bin HTTP/1.1\" 206"))
    out = mcs.pull_json("s3://models/llm", env=s3_env(moto, MODELCACHE_MIN_SEGMENT="8MiB"))
    snap = Path(out["path"])
    got = {str(p.relative_to(snap)): sha256_file(p) for p in snap.rglob("*") if p.is_symlink()}
    assert got == moto.files
    assert out["bytes_downloaded"] == sum((snap / p).stat().st_size for p in got)
    # The 33 MiB object came in several ranged requests, each answered 206.
    assert len(moto.requests("GET /models/llm/single.bin HTTP/1.1\" 206")) - ranged_before >= 2
    by_path = {f["path"]: f for f in manifest_of(snap)["files"]}
    assert by_path["single.bin"]["origin_digest"].startswith("md5:")
    assert by_path["config.json"]["origin_digest"].startswith("md5:")
    assert "-" in by_path["multipart.bin"]["etag"] and "origin_digest" not in by_path["multipart.bin"]
    assert_cache_valid(mcs.home)

    # Listed again (ref TTL 0): same snapshot id, nothing downloaded, no new snapshot.
    lists_before = len(moto.requests("GET /models?", "list-type=2"))
    again = mcs.pull_json("s3://models/llm", env=s3_env(moto, MODELCACHE_REF_TTL="0"))
    assert len(moto.requests("GET /models?", "list-type=2")) > lists_before
    assert again["snapshot"] == out["snapshot"] and again["path"] == out["path"]
    assert again["bytes_downloaded"] == 0
    assert snapshot_dirs(mcs.home) == [out["snapshot"]]


def test_prefix_naming_one_object_pulls_that_object(moto, mcs):
    out = mcs.pull_json("s3://models/readme.txt", env=s3_env(moto))
    assert [f["path"] for f in out["files"]] == ["readme.txt"]
    assert sha256_file(Path(out["path"]) / "readme.txt") == moto.readme_sha


def test_changed_object_gives_a_new_snapshot(moto, mcs, tmp_path):
    moto.aws("s3", "mb", "s3://changing")
    upload(moto, tmp_path, "changing/m/a.bin", 4000, seed=21)
    upload(moto, tmp_path, "changing/m/b.bin", 5000, seed=22)
    first = mcs.pull_json("s3://changing/m", env=s3_env(moto))
    new_sha = upload(moto, tmp_path, "changing/m/b.bin", 5000, seed=23)
    second = mcs.pull_json("s3://changing/m", env=s3_env(moto, MODELCACHE_REF_TTL="0"))
    assert second["snapshot"] != first["snapshot"]
    assert second["bytes_downloaded"] == 5000  # a.bin is reused
    assert sha256_file(Path(second["path"]) / "b.bin") == new_sha
    assert len(snapshot_dirs(mcs.home)) == 2
    assert_cache_valid(mcs.home)


def test_pagination_follows_continuation_tokens(moto, mcs):
    lists_before = len(moto.requests("GET /models?", "list-type=2"))
    out = mcs.pull_json("s3://models/llm", "--allow", "*.json", "--allow", "tokenizer/*",
                        env=s3_env(moto, MODELCACHE_LIST_PAGE_SIZE="2"))
    pages = moto.requests("GET /models?", "list-type=2")[lists_before:]
    # 6 objects, 2 per page: 3 pages, the later ones with a continuation token.
    assert len(pages) == 3, pages
    assert all("max-keys=2" in p for p in pages)
    assert sum("continuation-token=" in p for p in pages) == 2
    assert sorted(f["path"] for f in out["files"]) == ["config.json", "tokenizer/merges.txt",
                                                        "tokenizer/vocab.txt"]
    manifest = manifest_of(out["path"])
    assert len(manifest["files"]) == len(moto.files), "every listed object is in the manifest"


def test_credentials_from_a_profile(moto, mcs, tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = WRONG\naws_secret_access_key = WRONG\n\n"
                     f"[ci]\naws_access_key_id = {moto.key_id}\naws_secret_access_key = {moto.secret}\n")
    config = tmp_path / "config"
    config.write_text(f"[profile ci]\nregion = {REGION}\nendpoint_url = {moto.url}\n"
                      "s3 =\n  multipart_threshold = 64MB\n")
    env = {"AWS_PROFILE": "ci", "AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_CONFIG_FILE": str(config)}
    out = mcs.pull_json("s3://models/readme.txt", env=env)  # endpoint from the profile
    assert sha256_file(Path(out["path"]) / "readme.txt") == moto.readme_sha
    # ~/.aws/credentials of HOME, default profile.
    aws_dir = Path(mcs.env["HOME"]) / ".aws"
    aws_dir.mkdir()
    (aws_dir / "credentials").write_text(
        f"[default]\naws_access_key_id = {moto.key_id}\naws_secret_access_key = {moto.secret}\n")
    out = mcs.pull_json("s3://models/llm", "--allow", "tokenizer/*",
                        env={"AWS_ENDPOINT_URL_S3": moto.url})
    assert sha256_file(Path(out["path"]) / "tokenizer/vocab.txt") == moto.files["tokenizer/vocab.txt"]


def cache_text(home):
    """Every byte of every file under the cache root, symlink targets included."""
    chunks = []
    for p in Path(home).rglob("*"):
        if p.is_symlink():
            chunks.append(os.readlink(p).encode())
        elif p.is_file():
            chunks.append(p.read_bytes())
    return b"\n".join(chunks)


def test_wrong_secret_key_fails_in_one_line_and_leaks_nothing(moto, mcs):
    wrong = "Wr0ngSecretKeyNeverToBePrinted+/abcdefghijklmnopqrst"
    r = mcs.run("pull", "s3://models/llm", env=s3_env(moto, AWS_SECRET_ACCESS_KEY=wrong))
    assert r.returncode == 1, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "s3://models/llm" in lines[0] and "SignatureDoesNotMatch" in lines[0]
    assert "check the key" in lines[0]
    for text in (r.stdout, r.stderr):
        assert wrong not in text and moto.secret not in text
    assert not [p for p in Path(mcs.home).rglob("*") if p.is_file() and "blobs" in p.parts]
    assert snapshot_dirs(mcs.home) == []
    assert wrong.encode() not in cache_text(mcs.home)
    # An unknown key id is a different message with the same advice.
    r = mcs.run("pull", "s3://models/llm", env=s3_env(moto, AWS_ACCESS_KEY_ID="AKIANOTAKEY000000000"))
    assert r.returncode == 1 and "InvalidAccessKeyId" in r.stderr and "check the key" in r.stderr


def test_no_secret_in_outputs_or_cache_after_a_pull(moto, mcs):
    r = mcs.run("pull", "s3://models/readme.txt", "--json", env=s3_env(moto))
    assert r.returncode == 0, r
    assert moto.secret not in r.stdout + r.stderr
    assert moto.secret.encode() not in cache_text(mcs.home)


def test_missing_bucket_and_empty_prefix(moto, mcs):
    r = mcs.run("pull", "s3://no-such-bucket/x", env=s3_env(moto))
    assert r.returncode == 1, r
    assert len(r.stderr.strip().splitlines()) == 1
    assert "s3://no-such-bucket/x" in r.stderr and "NoSuchBucket" in r.stderr
    r = mcs.run("pull", "s3://models/nothing-here", env=s3_env(moto))
    assert r.returncode == 1, r
    assert len(r.stderr.strip().splitlines()) == 1
    assert "no object under s3://models/nothing-here" in r.stderr
    # "llm" is a directory prefix; "ll" is neither a directory nor an object.
    r = mcs.run("pull", "s3://models/ll", env=s3_env(moto))
    assert r.returncode == 1 and "no object under s3://models/ll" in r.stderr


def test_offline_names_what_is_missing_and_serves_a_pulled_prefix(moto, mcs):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    env = s3_env(moto, AWS_ENDPOINT_URL=dead)
    r = mcs.run("pull", "s3://models/llm", "--offline", env=env)
    assert r.returncode == 1, r
    assert len(r.stderr.strip().splitlines()) == 1
    assert "s3://models/llm" in r.stderr and "not in the cache" in r.stderr
    assert "offline" in r.stderr
    out = mcs.pull_json("s3://models/llm", env=s3_env(moto))
    off = mcs.pull_json("s3://models/llm", "--offline", env=env)
    assert off["path"] == out["path"] and off["bytes_downloaded"] == 0
    off = mcs.pull_json("s3://models/llm", env={**env, "MODELCACHE_OFFLINE": "1",
                                                          "MODELCACHE_REF_TTL": "0"})
    assert off["path"] == out["path"]


def test_odd_keys_and_anonymous_requests_with_auth_off(moto, mcs, tmp_path):
    keys = {"odd/a+b.bin": 100, "odd/x@y=z.bin": 200, "odd/\u00e9t\u00e9 caf\u00e9.bin": 300,
            "odd/sub dir/~tilde.bin": 400}
    moto.set_auth(False)
    try:
        moto.aws("s3", "mb", "s3://oddkeys")
        shas = {k.split("/", 1)[1]: upload(moto, tmp_path, "oddkeys/" + k, n, i, "--acl", "public-read")
                for i, (k, n) in enumerate(keys.items())}
        # No credentials anywhere: unsigned requests (moto checks the object ACL).
        out = mcs.pull_json("s3://oddkeys/odd", env={"AWS_ENDPOINT_URL": moto.url})
        # Nested prefixes, with and without the trailing '/'.
        nested = mcs.pull_json("s3://oddkeys/odd/sub dir", env={"AWS_ENDPOINT_URL": moto.url})
        slash = mcs.pull_json("s3://oddkeys/odd/sub dir/", env={"AWS_ENDPOINT_URL": moto.url})
        one = mcs.pull_json("s3://oddkeys/odd/a+b.bin", env={"AWS_ENDPOINT_URL": moto.url})
    finally:
        moto.set_auth(True)
    snap = Path(out["path"])
    assert {p: sha256_file(snap / p) for p in shas} == shas
    assert [f["path"] for f in nested["files"]] == ["~tilde.bin"]
    assert slash["snapshot"] == nested["snapshot"]
    assert [f["path"] for f in one["files"]] == ["a+b.bin"]
    assert sha256_file(Path(one["path"]) / "a+b.bin") == shas["a+b.bin"]
    assert_cache_valid(mcs.home)


def test_served_by_the_daemon_under_a_repo_name(moto, mcs, tmp_path):
    """`serve --repo bucket/llm=s3://models/llm`: a Hub client sees the prefix as a
    model repo, every file checked by sha256, pulled through moto once."""
    import urllib.parse
    from test_serve_tenants import KeyedDaemon
    mcs.env.update(s3_env(moto))
    d = KeyedDaemon(mcs, "http://127.0.0.1:9", tmp_path / "serve.log", "--repo", "bucket/llm=s3://models/llm")
    try:
        r, body = d.call("GET", "/api/models/bucket/llm/revision/main")
        info = json.loads(body)
        assert r.status == 200 and info["id"] == "bucket/llm" and len(info["sha"]) == 40, body
        assert sorted(s["rfilename"] for s in info["siblings"]) == sorted(moto.files)
        for name, sha in moto.files.items():
            r, body = d.call("GET", f"/bucket/llm/resolve/{info['sha']}/{urllib.parse.quote(name)}")
            assert r.status == 200 and hashlib.sha256(body).hexdigest() == sha, (name, r.status)
    finally:
        assert d.stop() == 0, Path(d.log_path).read_text()
    assert_cache_valid(mcs.home)
