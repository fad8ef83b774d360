"""az:// pulls against real Azurite (Microsoft's Azure Storage emulator) on 127.0.0.1.

Azurite checks SharedKey signatures and SAS tokens with the well-known
devstoreaccount1 key, so a wrong key really fails with 403. Test blobs are
uploaded, and SAS tokens made, with Microsoft's own client (@azure/storage-blob
from node, pinned in tests/peers/package.json): the blobs and the SAS come from
an independent implementation, and modelcache's signing is checked by an
independent server. Install with scripts/install-deps.sh (npm install in tests/peers).
"""
import base64
import hashlib
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Modelcache, assert_cache_valid, free_port, sha256_file, write_random

HERE = Path(__file__).resolve().parent
PEERS = HERE.parent / "peers"
AZURITE = PEERS / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
# A well-formed key of the same length that is not the account's.
WRONG_KEY = base64.b64encode(hashlib.sha512(b"not the key").digest()).decode()

# Runs one batch of operations with @azure/storage-blob: argv = endpoint, key, JSON list.
CLIENT_JS = r"""
const b = require('@azure/storage-blob');
const [endpoint, account, key, opsJson] = process.argv.slice(2);
const cred = new b.StorageSharedKeyCredential(account, key);
const svc = new b.BlobServiceClient(endpoint, cred);
(async () => {
  for (const op of JSON.parse(opsJson)) {
    const c = svc.getContainerClient(op.container);
    if (op.op === 'create') {
      await c.create(op.public ? {access: 'container'} : {});
    } else if (op.op === 'upload') {
      // Files up to 256 MiB are one Put Blob: the service records their Content-MD5.
      await c.getBlockBlobClient(op.blob).uploadFile(op.file);
    } else if (op.op === 'upload_blocks') {
      // Put Block + Put Block List: such a blob has no Content-MD5.
      await c.getBlockBlobClient(op.blob).uploadFile(op.file,
          {blockSize: 1 << 20, maxSingleShotSize: 1 << 20, concurrency: 1});
    } else if (op.op === 'text') {
      await c.getBlockBlobClient(op.blob).upload(op.text, Buffer.byteLength(op.text));
    } else if (op.op === 'delete') {
      await c.getBlobClient(op.blob).delete();
    } else if (op.op === 'sas') {
      const sas = b.generateBlobSASQueryParameters({containerName: op.container,
          permissions: b.ContainerSASPermissions.parse(op.permissions),
          expiresOn: new Date(Date.now() + 3600 * 1000)}, cred).toString();
      process.stdout.write(sas + '\n');
    } else if (op.op === 'set_md5') {
      await c.getBlobClient(op.blob).setHTTPHeaders({blobContentMD5: Buffer.from(op.md5, 'hex')});
    } else if (op.op === 'props') {
      const p = await c.getBlobClient(op.blob).getProperties();
      process.stdout.write(JSON.stringify({md5: p.contentMD5 ? Buffer.from(p.contentMD5).toString('hex') : null}) + '\n');
    } else {
      throw new Error('unknown op ' + op.op);
    }
  }
})().catch((e) => { console.error(e.message); process.exit(1); });
"""


class Azurite:
    def __init__(self, workdir):
        if not AZURITE.exists():
            pytest.fail(f"{AZURITE} is missing: run scripts/install-deps.sh (npm install in tests/peers)")
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}/{ACCOUNT}"
        self.log_path = self.workdir / "access.log"
        self.client_js = self.workdir / "client.js"
        self.client_js.write_text(CLIENT_JS)
        # Without --silent Azurite writes an access log line per request to stdout
        # ("GET /devstoreaccount1/c/blob?... HTTP/1.1" 206): the tests count requests.
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            ["node", str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--loose",
             "--skipApiVersionCheck", "--disableTelemetry", "--location", str(self.workdir / "data")],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"azurite exited: {self.log_path.read_text()}")
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("azurite did not start")

    def connection_string(self, key=KEY):
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={key};"
                f"BlobEndpoint={self.endpoint};")

    def client(self, *ops):
        env = {**os.environ, "NODE_PATH": str(PEERS / "node_modules")}
        r = subprocess.run(["node", str(self.client_js), self.endpoint, ACCOUNT, KEY, json.dumps(list(ops))],
                           env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"azure client failed: {r.stderr}"
        return r.stdout

    def requests(self):
        """(method, path-with-query, status) of every request so far."""
        # Azurite logs a request after its response is sent, so the last lines of a
        # pull that just ended may still be on their way: wait for a quiet log.
        size, quiet_since, deadline = -1, time.time(), time.time() + 10
        while time.time() < deadline:
            now = self.log_path.stat().st_size
            if now != size:
                size, quiet_since = now, time.time()
            elif time.time() - quiet_since >= 0.3:
                break
            time.sleep(0.05)
        out = []
        for line in self.log_path.read_text().splitlines():
            if '"' not in line:
                continue
            try:
                req, rest = line.split('"')[1], line.split('"')[2].split()
                method, target = req.split()[0], req.split()[1]
                out.append((method, target, int(rest[0])))
            except (IndexError, ValueError):
                continue
        return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    a = Azurite(tmp_path_factory.mktemp("azurite"))
    yield a
    a.stop()


def make_mc(home, azurite, **env):
    """No AZURE_* from the outer environment: each test says which credentials it uses."""
    m = Modelcache(home)
    for k in list(m.env):
        if k.startswith("AZURE_"):
            del m.env[k]
    m.env.update(env)
    return m


@pytest.fixture
def mc_az(tmp_path, azurite):
    return make_mc(tmp_path / "cache", azurite, AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string())


def one_line(r):
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one error line: {r}"
    return lines[0]


def no_secret_anywhere(mc, r, *secrets):
    for s in secrets:
        assert s not in r.stdout and s not in r.stderr
    for p in Path(mc.home).rglob("*"):
        if p.is_file() and not p.is_symlink():
            data = p.read_bytes()
            for s in secrets:
                assert s.encode() not in data, f"{s[:6]}... found in {p}"
            assert b"sig=" not in data, f"a SAS signature found in {p}"


def sas_secrets(sas):
    """The SAS and its signature, as sent (percent-encoded) and decoded."""
    from urllib.parse import unquote
    sig = sas.split("sig=")[1].split("&")[0]
    return [sas, sig, unquote(sig)]


def test_pull_nested_blobs_parallel_ranges_and_digests(mc_az, azurite, tmp_path):
    src = tmp_path / "src"
    big = write_random(src / "big.safetensors", (40 << 20) + 123, seed=11)
    cfg = src / "config.json"
    cfg.write_text('{"hidden_size": 8}')
    vocab = write_random(src / "vocab.txt", 5000, seed=12)
    deep = write_random(src / "deep.bin", (2 << 20) + 7, seed=13)
    other = write_random(src / "other.bin", 100, seed=14)
    azurite.client(
        {"op": "create", "container": "nested"},
        {"op": "upload", "container": "nested", "blob": "llama/model.safetensors", "file": str(big)},
        {"op": "upload", "container": "nested", "blob": "llama/config.json", "file": str(cfg)},
        {"op": "upload", "container": "nested", "blob": "llama/tokenizer/vocab.txt", "file": str(vocab)},
        {"op": "upload_blocks", "container": "nested", "blob": "llama/a/b/c/deep.bin", "file": str(deep)},
        {"op": "text", "container": "nested", "blob": "llama/tokenizer/", "text": ""},  # directory marker
        {"op": "upload", "container": "nested", "blob": "llama-v2/other.bin", "file": str(other)},
        # A blob named like the folder: the folder wins (as for s3:// and gs://).
        {"op": "upload", "container": "nested", "blob": "llama", "file": str(other)},
    )
    props = json.loads(azurite.client({"op": "props", "container": "nested", "blob": "llama/model.safetensors"}))
    assert props["md5"] == hashlib.md5(big.read_bytes()).hexdigest(), "Azurite should record Content-MD5"
    before = len(azurite.requests())

    out = mc_az.pull_json(f"az://{ACCOUNT}/nested/llama", env={"MODELCACHE_MIN_SEGMENT": "4MiB"})
    snap = Path(out["path"])
    expected = {"model.safetensors": big, "config.json": cfg, "tokenizer/vocab.txt": vocab,
                "a/b/c/deep.bin": deep}
    assert sorted(f["path"] for f in out["files"]) == sorted(expected), out["files"]
    for rel, local in expected.items():
        assert sha256_file(snap / rel) == sha256_file(local), rel
    assert not (snap / "other.bin").exists(), "llama-v2/ is not under llama/"

    # The big blob came in several ranged GETs (206), each byte once.
    gets = [(m, t, s) for m, t, s in azurite.requests()[before:]
            if m == "GET" and "/nested/llama/model.safetensors" in t]
    assert len([g for g in gets if g[2] == 206]) >= 2, gets
    # Content-MD5 was promised (and checked by the engine); the block blob has none.
    manifest = json.loads(next((Path(mc_az.home) / "models").glob("*/snapshots/*.json")).read_text())
    digests = {f["path"]: f.get("origin_digest") for f in manifest["files"]}
    assert digests["model.safetensors"] == "md5:" + hashlib.md5(big.read_bytes()).hexdigest()
    assert digests["a/b/c/deep.bin"] is None
    assert_cache_valid(mc_az.home)

    # The same prefix with a trailing '/', and one blob named exactly.
    one = mc_az.pull_json(f"az://{ACCOUNT}/nested/llama/tokenizer/vocab.txt")
    assert [f["path"] for f in one["files"]] == ["vocab.txt"]
    assert one["bytes_downloaded"] == 0, "already in the store"
    slash = mc_az.pull_json(f"azure://{ACCOUNT}/nested/llama/tokenizer/")
    assert [f["path"] for f in slash["files"]] == ["vocab.txt"]


def test_pagination_cache_hit_and_changed_blob(mc_az, azurite, tmp_path):
    src = tmp_path / "src"
    ops = [{"op": "create", "container": "paged"}]
    files = {}
    for i in range(5):
        p = write_random(src / f"f{i}.bin", 1000 + i, seed=20 + i)
        files[f"shard-{i}.bin"] = p
        ops.append({"op": "upload", "container": "paged", "blob": f"m/shard-{i}.bin", "file": str(p)})
    azurite.client(*ops)
    ref = f"az://{ACCOUNT}/paged/m"
    before = len(azurite.requests())
    first = mc_az.pull_json(ref, env={"MODELCACHE_LIST_PAGE_SIZE": "2"})
    assert sorted(f["path"] for f in first["files"]) == sorted(files)
    lists = [t for m, t, s in azurite.requests()[before:] if "comp=list" in t]
    assert len(lists) == 3 and all("maxresults=2" in t for t in lists), lists
    assert sum("marker=" in t for t in lists) == 2
    for rel, local in files.items():
        assert sha256_file(Path(first["path"]) / rel) == sha256_file(local)

    # Unchanged prefix: the same snapshot, nothing downloaded (also after the ref TTL).
    n = len(azurite.requests())
    second = mc_az.pull_json(ref)
    assert second["snapshot"] == first["snapshot"] and second["bytes_downloaded"] == 0
    assert len(azurite.requests()) == n, "a fresh ref must not touch the origin"
    third = mc_az.pull_json(ref, env={"MODELCACHE_REF_TTL": "0"})
    assert third["snapshot"] == first["snapshot"] and third["bytes_downloaded"] == 0

    # One blob changes: a new snapshot with the new content; the rest is not fetched again.
    changed = write_random(src / "changed.bin", 3000, seed=99)
    azurite.client({"op": "upload", "container": "paged", "blob": "m/shard-3.bin", "file": str(changed)})
    fourth = mc_az.pull_json(ref, env={"MODELCACHE_REF_TTL": "0"})
    assert fourth["snapshot"] != first["snapshot"]
    assert fourth["bytes_downloaded"] == 3000
    assert sha256_file(Path(fourth["path"]) / "shard-3.bin") == sha256_file(changed)
    assert sha256_file(Path(first["path"]) / "shard-3.bin") == sha256_file(files["shard-3.bin"])

    # Pins: the current snapshot is served; one the prefix no longer has is a clear error.
    pinned = mc_az.pull_json(f"{ref}@{fourth['snapshot']}")
    assert pinned["snapshot"] == fourth["snapshot"] and pinned["bytes_downloaded"] == 0
    gone = "0" * 40
    r = mc_az.run("pull", f"{ref}@{gone}")
    assert r.returncode != 0
    line = one_line(r)
    assert "no longer has snapshot" in line and gone in line and fourth["snapshot"] in line
    assert_cache_valid(mc_az.home)


@pytest.fixture(scope="module")
def creds_container(azurite, tmp_path_factory):
    p = write_random(tmp_path_factory.mktemp("creds") / "w.bin", 6 << 20, seed=30)
    azurite.client({"op": "create", "container": "creds"},
                   {"op": "upload", "container": "creds", "blob": "model/w.bin", "file": str(p)})
    return p


@pytest.mark.parametrize("how", ["connection_string", "account_key", "sas", "sas_in_connection_string"])
def test_credentials(how, azurite, creds_container, tmp_path):
    secrets = [KEY]
    if how == "connection_string":
        env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string()}
    elif how == "account_key":
        env = {"AZURE_STORAGE_ACCOUNT": ACCOUNT, "AZURE_STORAGE_KEY": KEY,
               "AZURE_STORAGE_BLOB_ENDPOINT": azurite.endpoint}
    else:
        sas = azurite.client({"op": "sas", "container": "creds", "permissions": "rl"}).strip()
        assert "sig=" in sas
        secrets = sas_secrets(sas)
        if how == "sas":
            env = {"AZURE_STORAGE_SAS_TOKEN": "?" + sas, "AZURE_STORAGE_BLOB_ENDPOINT": azurite.endpoint}
        else:
            env = {"AZURE_STORAGE_CONNECTION_STRING":
                   f"BlobEndpoint={azurite.endpoint};SharedAccessSignature={sas}"}
    mc = make_mc(tmp_path / "cache", azurite, **env)
    r = mc.run("pull", f"az://{ACCOUNT}/creds/model", "--json", env={"MODELCACHE_MIN_SEGMENT": "1MiB"})
    assert r.returncode == 0, r
    out = json.loads(r.stdout)
    assert sha256_file(Path(out["path"]) / "w.bin") == sha256_file(creds_container)
    no_secret_anywhere(mc, r, *secrets)
    assert_cache_valid(mc.home)


def test_wrong_key_is_one_line_403_and_caches_nothing(azurite, creds_container, tmp_path):
    mc = make_mc(tmp_path / "cache", azurite,
                 AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string(WRONG_KEY))
    before = len(azurite.requests())
    r = mc.run("pull", f"az://{ACCOUNT}/creds/model")
    assert r.returncode != 0
    line = one_line(r)
    # Real Azure says AuthenticationFailed, Azurite AuthorizationFailure: both a 403.
    assert f"az://{ACCOUNT}/creds/model" in line and "HTTP 403" in line, line
    assert "rejected the credentials from AZURE_STORAGE_CONNECTION_STRING" in line, line
    assert "check the account key" in line, line
    assert [s for _, _, s in azurite.requests()[before:]] == [403], "one list request, refused"
    no_secret_anywhere(mc, r, WRONG_KEY, KEY)
    assert not list(Path(mc.home).glob("models/*/snapshots/*")), "nothing may be cached"

    # Same through AZURE_STORAGE_KEY.
    mc2 = make_mc(tmp_path / "cache2", azurite, AZURE_STORAGE_KEY=WRONG_KEY,
                  AZURE_STORAGE_BLOB_ENDPOINT=azurite.endpoint)
    r = mc2.run("pull", f"az://{ACCOUNT}/creds/model")
    assert r.returncode != 0 and "rejected the credentials from AZURE_STORAGE_KEY" in one_line(r)
    no_secret_anywhere(mc2, r, WRONG_KEY)

    # A SAS without the list permission.
    sas = azurite.client({"op": "sas", "container": "creds", "permissions": "r"}).strip()
    mc3 = make_mc(tmp_path / "cache3", azurite, AZURE_STORAGE_SAS_TOKEN=sas,
                  AZURE_STORAGE_BLOB_ENDPOINT=azurite.endpoint)
    r = mc3.run("pull", f"az://{ACCOUNT}/creds/model")
    assert r.returncode != 0 and "grants list (l) and read (r)" in one_line(r), r
    no_secret_anywhere(mc3, r, *sas_secrets(sas))


def test_bad_credentials_are_named_not_echoed(azurite, tmp_path):
    ref = f"az://{ACCOUNT}/creds/model"
    cases = [
        ({"AZURE_STORAGE_CONNECTION_STRING": f"AccountName={ACCOUNT};AccountKey={KEY};garbage"},
         "AZURE_STORAGE_CONNECTION_STRING is malformed", KEY),
        ({"AZURE_STORAGE_KEY": "not*base64" + KEY[:20]}, "AZURE_STORAGE_KEY", KEY[:20]),
        ({"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string().replace(ACCOUNT, "otheraccount", 1)},
         "otheraccount", KEY),
        ({"AZURE_STORAGE_SAS_TOKEN": "sv=2021-08-06&sp=r"}, "AZURE_STORAGE_SAS_TOKEN", None),
    ]
    for i, (env, expect, secret) in enumerate(cases):
        mc = make_mc(tmp_path / f"c{i}", azurite, **env)
        r = mc.run("pull", ref)
        assert r.returncode != 0, r
        line = one_line(r)
        assert expect in line and ref in line, line
        if secret:
            assert secret not in r.stdout + r.stderr


def test_content_md5_is_checked(mc_az, azurite, tmp_path):
    p = write_random(tmp_path / "w.bin", 3 << 20, seed=50)
    azurite.client({"op": "create", "container": "badmd5"},
                   {"op": "upload", "container": "badmd5", "blob": "m/w.bin", "file": str(p)},
                   {"op": "set_md5", "container": "badmd5", "blob": "m/w.bin", "md5": "00" * 16})
    r = mc_az.run("pull", f"az://{ACCOUNT}/badmd5/m")
    assert r.returncode != 0
    line = one_line(r)
    assert "w.bin: md5 mismatch" in line and "nothing was stored" in line, line
    assert not list(Path(mc_az.home).glob("models/*/snapshots/*"))
    assert_cache_valid(mc_az.home)


def test_missing_container_and_empty_prefix(mc_az, azurite, creds_container):
    r = mc_az.run("pull", f"az://{ACCOUNT}/no-such-container/model")
    assert r.returncode != 0
    line = one_line(r)
    assert "ContainerNotFound" in line and "no-such-container" in line, line

    r = mc_az.run("pull", f"az://{ACCOUNT}/creds/nothing-here")
    assert r.returncode != 0
    line = one_line(r)
    assert line.endswith(f"no blob under az://{ACCOUNT}/creds/nothing-here: check the prefix "
                         "(blob names are case-sensitive)"), line
    assert not list(Path(mc_az.home).glob("models/*/snapshots/*"))


def test_public_container_anonymous_and_private_refused(azurite, tmp_path):
    p = write_random(tmp_path / "pub.bin", 3000, seed=40)
    azurite.client({"op": "create", "container": "public", "public": True},
                   {"op": "upload", "container": "public", "blob": "m/pub.bin", "file": str(p)})
    mc = make_mc(tmp_path / "cache", azurite, AZURE_STORAGE_BLOB_ENDPOINT=azurite.endpoint)
    out = mc.pull_json(f"az://{ACCOUNT}/public/m")
    assert sha256_file(Path(out["path"]) / "pub.bin") == sha256_file(p)
    r = mc.run("pull", f"az://{ACCOUNT}/creds/model")
    assert r.returncode != 0
    line = one_line(r)
    assert "no credentials were sent" in line and "AZURE_STORAGE_CONNECTION_STRING" in line, line


def test_offline(mc_az, azurite, creds_container):
    ref = f"az://{ACCOUNT}/creds/model"
    n = len(azurite.requests())
    r = mc_az.run("pull", ref, "--offline")
    assert r.returncode != 0 and "offline" in one_line(r) and ref in r.stderr
    r = mc_az.run("pull", ref, env={"MODELCACHE_OFFLINE": "1"})
    assert r.returncode != 0 and "offline" in one_line(r)
    assert len(azurite.requests()) == n, "offline makes no request"
    pulled = mc_az.pull_json(ref)
    n = len(azurite.requests())
    again = mc_az.pull_json(ref, "--offline", env={"MODELCACHE_REF_TTL": "0"})
    assert again["path"] == pulled["path"] and again["bytes_downloaded"] == 0
    assert len(azurite.requests()) == n, "offline makes no request"
