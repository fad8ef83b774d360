"""Issue 3's deployment path with bucket origins, end to end: a Truss config.yaml
whose `weights:` entries are s3:// (moto, auth enforced), gs:// (the GCS fixture,
service-account JWTs checked) and azure:// (Azurite, SharedKey checked), plus a
`model_cache:` entry of kind s3, each with a named secret given only as a file
in $MODELCACHE_SECRETS_DIR. The environment carries endpoints but NO credentials,
so the secrets are what makes every entry work.

The peers are started with the helpers of test_s3.py, test_gcs.py and
test_azure.py; the data set here is small (a few hundred KiB per origin).
"""
import json
import urllib.request
from pathlib import Path

import pytest

from conftest import Modelcache, PythonFixture, assert_cache_valid, sha256_file, write_random
from test_azure import ACCOUNT, KEY as AZURE_KEY, WRONG_KEY as AZURE_WRONG_KEY, Azurite
from test_gcs import EMAIL, key_body, openssl_key
from test_prefetch import tree, write_config
from test_s3 import REGION, Moto

# Variables that could hand modelcache a credential behind the secrets' back.
CREDENTIAL_PREFIXES = ("AWS_", "GOOGLE_", "GCE_", "CLOUDSDK_", "AZURE_", "STORAGE_EMULATOR_HOST",
                       "MODELCACHE_SECRET", "TRUSS_SECRET")

CONFIG = """
model_name: buckets
model_cache:
  - repo_id: s3://wbucket/extra
    kind: s3
    runtime_secret_name: aws_creds
    volume_folder: extra
weights:
  - source: s3://wbucket/llm
    mount_location: {mnt}/s3-llm
    auth_secret_name: aws_creds
  - source: gs://gbucket/model
    mount_location: {mnt}/gcs-model
    auth_secret_name: gcp_sa
  - source: azure://{account}/azcontainer/model
    mount_location: {mnt}/azure-model
    auth_secret_name: azure_key
"""

# Entry label (as the CLI prints it) and mount folder name, in the order the CLI
# reports them (model_cache first, then weights).
ENTRIES = [
    ("model_cache[0] s3://wbucket/extra", "extra"),
    ("weights[0] s3://wbucket/llm", "s3-llm"),
    ("weights[1] gs://gbucket/model", "gcs-model"),
    (f"weights[2] azure://{ACCOUNT}/azcontainer/model", "azure-model"),
]


def make_files(root, seed):
    """{relative path: file} of a small model folder under root."""
    root = Path(root)
    files = {"config.json": 310, "tokenizer/vocab.txt": 4100, "model.safetensors": 300_000}
    for i, (rel, size) in enumerate(files.items()):
        write_random(root / rel, size, seed=seed + i)
    return {rel: root / rel for rel in files}


def sha_tree(files):
    return {rel: sha256_file(p) for rel, p in files.items()}


class Peers:
    """The three peers with their data, and a secrets directory for them."""

    def __init__(self, work, fixture_factory):
        self.work = Path(work)
        (self.work / "moto").mkdir(parents=True)
        # S3: moto with an IAM user; two prefixes of one bucket.
        self.moto = Moto(self.work / "moto")
        self.s3_llm = make_files(self.work / "s3src" / "llm", seed=100)
        self.s3_extra = make_files(self.work / "s3src" / "extra", seed=200)
        self.moto.aws("s3", "mb", "s3://wbucket")
        self.moto.aws("s3", "cp", "--recursive", "--only-show-errors", str(self.work / "s3src"), "s3://wbucket/")
        # GCS: the fixture with one service account, tokens required.
        gdir = self.work / "gcs"
        gdir.mkdir()
        self.gcs_files = make_files(gdir / "buckets" / "gbucket" / "model", seed=300)
        self.gcs_pem, pub = openssl_key(gdir, "sa")
        self.wrong_pem, _ = openssl_key(gdir, "other")
        self.gcs = fixture_factory("gcs_fixture.py", "--root", gdir / "buckets", "--require-auth",
                                   "--account", f"{EMAIL}={pub}")
        # Azure: Azurite with the devstoreaccount1 key.
        self.azurite = Azurite(self.work / "azurite")
        self.azure_files = make_files(self.work / "azsrc", seed=400)
        self.azurite.client({"op": "create", "container": "azcontainer"},
                            *[{"op": "upload", "container": "azcontainer", "blob": f"model/{rel}",
                               "file": str(p)} for rel, p in self.azure_files.items()])
        self.expected = [sha_tree(self.s3_extra), sha_tree(self.s3_llm), sha_tree(self.gcs_files),
                         sha_tree(self.azure_files)]

    def aws_secret(self, secret=None):
        return json.dumps({"aws_access_key_id": self.moto.key_id,
                           "aws_secret_access_key": secret or self.moto.secret, "aws_region": REGION})

    def gcs_secret(self, pem=None):
        return json.dumps({"type": "service_account", "project_id": "fixture-project",
                           "private_key_id": "0f0f0f0f", "private_key": pem or self.gcs_pem,
                           "client_email": EMAIL, "client_id": "1", "token_uri": f"{self.gcs.url}/token"})

    def secrets_dir(self, d, **override):
        """A Truss-style /secrets directory: one file per secret name."""
        d.mkdir()
        values = {"aws_creds": self.aws_secret(), "gcp_sa": self.gcs_secret(),
                  "azure_key": json.dumps({"account_key": AZURE_KEY}), **override}
        for k, v in values.items():
            (d / k).write_text(v + "\n")
        return d

    def env(self, secrets_dir, home):
        """Endpoints only; every credential must come from the secrets directory."""
        return {"AWS_ENDPOINT_URL_S3": self.moto.url,
                "AWS_CONFIG_FILE": str(self.work / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(self.work / "no-aws-credentials"),
                "AWS_EC2_METADATA_DISABLED": "true",
                "STORAGE_EMULATOR_HOST": f"127.0.0.1:{self.gcs.port}",
                "AZURE_STORAGE_BLOB_ENDPOINT": self.azurite.endpoint,
                "HOME": str(home), "MODELCACHE_SECRETS_DIR": str(secrets_dir),
                "MODELCACHE_MIN_SEGMENT": "64KiB"}

    def secret_values(self):
        """Every secret value that must never be written or printed."""
        with urllib.request.urlopen(self.gcs.url + "/__stats") as r:
            tokens = json.loads(r.read())["tokens_issued"]
        return [self.moto.secret, key_body(self.gcs_pem), key_body(self.wrong_pem), AZURE_KEY,
                AZURE_WRONG_KEY, *tokens]

    def stop(self):
        self.moto.stop()
        self.azurite.stop()


@pytest.fixture(scope="module")
def peers(tmp_path_factory):
    # Started once for the module (moto's IAM set-up and Azurite take seconds);
    # a test that changes an object puts it back.
    servers = []

    def start(script, *args):
        servers.append(PythonFixture(script, *args))
        return servers[-1]

    p = Peers(tmp_path_factory.mktemp("peers"), start)
    yield p
    p.stop()
    for s in servers:
        s.stop()


def cache(home, env):
    """A Modelcache whose environment holds no credential of any origin."""
    m = Modelcache(home)
    m.env = {k: v for k, v in m.env.items() if not k.startswith(CREDENTIAL_PREFIXES)}
    m.env.update(env)
    return m


def assert_no_secret(values, *places):
    """No secret in any text, nor in any file (content or name) under any folder."""
    for place in places:
        if isinstance(place, str):
            for v in values:
                assert v not in place, f"secret leaked into output: {place[-300:]!r}"
            continue
        place = Path(place)
        files = [place] if place.is_file() else [p for p in place.rglob("*")]
        for p in files:
            for v in values:
                assert v not in str(p), f"secret in a file name: {p}"
            if p.is_file() and not p.is_symlink():
                data = p.read_bytes()
                for v in values:
                    assert v.encode() not in data, f"secret written to {p}"


def object_gets(peers):
    """Object (not listing) GETs moto and Azurite have served so far."""
    s3 = len(peers.moto.requests("GET /wbucket/"))  # a listing is GET /wbucket?list-type=2
    az = len([q for q in peers.azurite.requests() if q[0] == "GET" and "comp=list" not in q[1]])
    return s3, az


def config_for(tmp_path, mounts, name="config.yaml"):
    return write_config(tmp_path / name, CONFIG.format(mnt=mounts, account=ACCOUNT))


def test_bucket_entries_mount_with_secrets_only_and_are_warm_again(peers, tmp_path):
    mounts = tmp_path / "mnt"
    cfg = config_for(tmp_path, mounts)
    secrets = peers.secrets_dir(tmp_path / "secrets")
    home = tmp_path / "home"
    home.mkdir()

    # Control: without the secrets nothing in the environment lets an entry in.
    bare = cache(tmp_path / "bare", peers.env(tmp_path / "no-secrets", home))
    r = bare.run("prefetch", "-c", cfg, "--mount-root", mounts)
    assert r.returncode == 1
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 4, r.stderr
    for line, (label, _) in zip(errors, ENTRIES):
        assert line.startswith(f"modelcache: error: {label}: "), line
    assert not mounts.exists() or not list(mounts.iterdir())

    mc = cache(tmp_path / "cache", peers.env(secrets, home))
    r = mc.run("prefetch", "-c", cfg, "--mount-root", mounts)
    assert r.returncode == 0, r
    assert r.stderr == ""
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 4, r.stdout
    for i, (label, folder) in enumerate(ENTRIES):
        assert lines[i] == f"{label} -> {mounts / folder}"
        assert tree(mounts / folder) == peers.expected[i], label
    assert_cache_valid(mc.home)

    # Warm: every entry comes from the cache, no object fetched again.
    s3_gets, az_gets = object_gets(peers)
    assert s3_gets >= 6 and az_gets >= 3
    again = mc.run("prefetch", "-c", cfg, "--mount-root", mounts, "--json")
    assert again.returncode == 0, again
    out = json.loads(again.stdout)
    assert out["ok"] and [e["mount"] for e in out["entries"]] == [str(mounts / f) for _, f in ENTRIES]
    assert all(e["bytes_downloaded"] == 0 for e in out["entries"]), out
    assert object_gets(peers) == (s3_gets, az_gets)
    for i, (_, folder) in enumerate(ENTRIES):
        assert tree(mounts / folder) == peers.expected[i]

    values = peers.secret_values()
    assert len(values) > 5, "the GCS fixture issued access tokens: they are checked too"
    # The check can fail: the secrets directory itself holds each configured value.
    for v in (peers.moto.secret, key_body(peers.gcs_pem), AZURE_KEY):
        with pytest.raises(AssertionError):
            assert_no_secret([v], secrets)
    assert_no_secret(values, r.stdout, r.stderr, again.stdout, again.stderr, mc.home, mounts)


def test_lock_pins_bucket_snapshots_and_a_changed_object_breaks_only_that_pin(peers, tmp_path):
    mounts = tmp_path / "mnt"
    cfg = config_for(tmp_path, mounts)
    secrets = peers.secrets_dir(tmp_path / "secrets")
    home = tmp_path / "home"
    home.mkdir()
    env = peers.env(secrets, home)
    mc = cache(tmp_path / "cache", env)

    lock_path = tmp_path / "config.lock"
    locked = mc.run("lock", "-c", cfg, "-o", lock_path)
    assert locked.returncode == 0, locked
    lock = json.loads(lock_path.read_text())
    assert [e["entry"] for e in lock["entries"]] == [label.split()[0] for label, _ in ENTRIES]
    for e, expected in zip(lock["entries"], peers.expected):
        assert len(e["snapshot"]) == 40
        assert {f["path"]: f["sha256"] for f in e["files"]} == expected
    old_snapshot = lock["entries"][1]["snapshot"]

    # One object of weights[0] changes in the bucket.
    changed = peers.work / "changed.json"
    write_random(changed, 311, seed=999)
    peers.moto.aws("s3", "cp", "--only-show-errors", str(changed), "s3://wbucket/llm/config.json")
    try:
        check_changed_object(peers, tmp_path, mc, cfg, env, lock_path, locked, old_snapshot, changed)
    finally:
        peers.moto.aws("s3", "cp", "--only-show-errors", str(peers.s3_llm["config.json"]),
                       "s3://wbucket/llm/config.json")


def check_changed_object(peers, tmp_path, mc, cfg, env, lock_path, locked, old_snapshot, changed):
    mounts = tmp_path / "mnt"

    # A fresh machine with the lock: the pinned snapshot is gone for that entry only.
    fresh = cache(tmp_path / "fresh", env)
    r = fresh.run("prefetch", "-c", cfg, "--lock", lock_path, "--mount-root", mounts)
    assert r.returncode == 1
    errors = r.stderr.strip().splitlines()
    assert len(errors) == 1, r.stderr
    assert errors[0].startswith(f"modelcache: error: {ENTRIES[1][0]}: "), errors[0]
    assert old_snapshot in errors[0] and "modelcache lock" in errors[0], errors[0]
    assert not (mounts / "s3-llm").exists()
    for i in (0, 2, 3):
        assert tree(mounts / ENTRIES[i][1]) == peers.expected[i]

    # Without the lock the config follows the bucket: the new content is fetched.
    plain = fresh.run("prefetch", "-c", cfg, "--mount-root", mounts)
    assert plain.returncode == 0, plain
    assert tree(mounts / "s3-llm") == {**peers.expected[1], "config.json": sha256_file(changed)}
    # The machine that locked earlier resolved the prefix less than
    # MODELCACHE_REF_TTL ago (README: a resolved ref is trusted that long); once
    # that has run out it lists the bucket again and sees the change too.
    mnt2 = tmp_path / "mnt2"
    r = mc.run("prefetch", "-c", config_for(tmp_path, mnt2, "config2.yaml"), "--mount-root", mnt2,
               env={"MODELCACHE_REF_TTL": "0"})
    assert r.returncode == 0, r
    assert tree(mnt2 / "s3-llm") == tree(mounts / "s3-llm")
    assert_cache_valid(fresh.home)

    assert_no_secret(peers.secret_values(), locked.stdout, locked.stderr, r.stdout, r.stderr,
                     plain.stdout, plain.stderr, lock_path, mc.home, fresh.home, mounts)


@pytest.mark.parametrize("bad", ["aws_creds", "gcp_sa", "azure_key"])
def test_a_wrong_secret_fails_only_its_entry_in_one_line(peers, tmp_path, bad):
    wrong = {"aws_creds": peers.aws_secret("W" * 40),
             "gcp_sa": peers.gcs_secret(peers.wrong_pem),
             "azure_key": json.dumps({"account_key": AZURE_WRONG_KEY})}[bad]
    failing = {"aws_creds": [0, 1], "gcp_sa": [2], "azure_key": [3]}[bad]
    mounts = tmp_path / "mnt"
    cfg = config_for(tmp_path, mounts)
    secrets = peers.secrets_dir(tmp_path / "secrets", **{bad: wrong})
    home = tmp_path / "home"
    home.mkdir()
    mc = cache(tmp_path / "cache", peers.env(secrets, home))
    r = mc.run("prefetch", "-c", cfg, "--mount-root", mounts)
    assert r.returncode == 1
    errors = r.stderr.strip().splitlines()
    assert len(errors) == len(failing), r.stderr
    for line, i in zip(errors, failing):
        assert line.startswith(f"modelcache: error: {ENTRIES[i][0]}: "), line
        assert "key" in line.lower(), line  # points at the credential to fix
        where = ENTRIES[i][0].split("://", 1)[1]  # bucket/prefix, as every origin names it
        assert line.count(where) == 1, f"the entry's ref is named twice: {line}"
    for i, (_, folder) in enumerate(ENTRIES):
        if i in failing:
            assert not (mounts / folder).exists()
        else:
            assert tree(mounts / folder) == peers.expected[i]
    secret_values = peers.secret_values() + ["W" * 40]
    assert_no_secret(secret_values, r.stdout, r.stderr, mc.home, mounts)
