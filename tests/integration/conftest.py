"""Shared fixtures for the end-to-end tests.

Every peer runs on 127.0.0.1 with an ephemeral port and is stopped afterwards:
real nginx (Range, ETag, an access log with $body_bytes_sent), and the Python
fixture servers in tests/fixtures that speak the Hugging Face Hub protocol or
inject faults. Each test gets its own cache root (MODELCACHE_HOME).
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
PYTHON = "/usr/bin/python3"


def modelcache_bin():
    path = os.environ.get("MODELCACHE_BIN") or str(HERE.parents[1] / "build" / "modelcache")
    if not os.path.exists(path):
        pytest.fail(f"modelcache binary not found at {path}: build first")
    return path


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def write_random(path, size, seed=0):
    """Deterministic pseudo-random content, fast for large sizes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    block = hashlib.sha256(f"{seed}".encode()).digest() * 32768  # 1 MiB
    with open(path, "wb") as f:
        left = size
        i = 0
        while left > 0:
            # Vary each MiB so that no two ranges are equal.
            chunk = hashlib.sha256(f"{seed}-{i}".encode()).digest() + block[32:]
            n = min(left, len(chunk))
            f.write(chunk[:n])
            left -= n
            i += 1
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Result:
    def __init__(self, proc):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def last_line(self):
        lines = self.stdout.strip().splitlines()
        return lines[-1] if lines else ""

    def __repr__(self):
        return f"<rc={self.returncode} stdout={self.stdout[-500:]!r} stderr={self.stderr[-1000:]!r}>"


class Modelcache:
    """Runs build/modelcache with a private cache root and a clean environment."""

    def __init__(self, home, base_env=None):
        self.home = Path(home)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("MODELCACHE_", "HF_", "HUGGING_FACE")) or k == "MODELCACHE_BIN"}
        self.env["MODELCACHE_HOME"] = str(self.home)
        self.env.update(base_env or {})

    def cmd(self, *args):
        return [modelcache_bin(), *[str(a) for a in args]]

    def run(self, *args, env=None, timeout=300, check=False):
        e = dict(self.env)
        e.update(env or {})
        proc = subprocess.run(self.cmd(*args), env=e, capture_output=True, text=True, timeout=timeout)
        r = Result(proc)
        if check and r.returncode != 0:
            raise AssertionError(f"modelcache {' '.join(map(str, args))} failed: {r}")
        return r

    def popen(self, *args, env=None, **kw):
        e = dict(self.env)
        e.update(env or {})
        return subprocess.Popen(self.cmd(*args), env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, **kw)

    def pull_json(self, *args, env=None):
        r = self.run("pull", *args, "--json", env=env, check=True)
        return json.loads(r.stdout)


@pytest.fixture
def mc(tmp_path):
    return Modelcache(tmp_path / "cache")


def assert_cache_valid(home):
    """Invariants 1 and 2 from the outside: verify is clean, every link in every
    snapshot resolves to a blob whose content hashes to its name, every manifest
    entry with a sha256 is linked, nothing under snapshots/ is a regular file."""
    home = Path(home)
    r = subprocess.run([modelcache_bin(), "verify"], env={**os.environ, "MODELCACHE_HOME": str(home)},
                       capture_output=True, text=True)
    assert r.returncode == 0, f"verify failed: {r.stdout} {r.stderr}"
    models = home / "models"
    if not models.exists():
        return
    for manifest in models.glob("*/snapshots/*.json"):
        data = json.loads(manifest.read_text())
        snap = manifest.with_suffix("")
        for f in data["files"]:
            link = snap / f["path"]
            if "sha256" in f:
                assert link.is_symlink(), f"{link} listed as present but not linked"
                target = link.resolve()
                assert target.name == f["sha256"]
                assert sha256_file(target) == f["sha256"]
            else:
                assert not link.exists(), f"{link} linked but not in the manifest"
    for snap in models.glob("*/snapshots/*"):
        if snap.is_dir():
            for p in snap.rglob("*"):
                assert p.is_symlink() or p.is_dir(), f"{p} is a regular file under snapshots/"


class PythonFixture:
    """A tests/fixtures/*.py server that prints 'PORT <n>' when ready."""

    def __init__(self, script, *args):
        self.proc = subprocess.Popen([PYTHON, str(FIXTURES / script), *map(str, args)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 20
        self.port = None
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("PORT "):
                self.port = int(line.split()[1])
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError(f"{script} did not start: {self.proc.stderr.read()}")
        self.url = f"http://127.0.0.1:{self.port}"

    def log(self):
        import urllib.request
        with urllib.request.urlopen(self.url + "/__log") as r:
            return json.loads(r.read())

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Nginx:
    """Real nginx serving `root` on 127.0.0.1 with an access log of bytes sent."""

    def __init__(self, workdir, root, limit_rate=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.root = Path(root)
        self.port = free_port()
        self.access_log = self.workdir / "access.log"
        user = "user root;" if os.geteuid() == 0 else ""
        rate = f"limit_rate {limit_rate};" if limit_rate else ""
        conf = f"""
{user}
worker_processes 2;
daemon off;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  log_format mc '$request_method $uri $status $body_bytes_sent "$http_range" "$http_authorization"';
  access_log {self.access_log} mc;
  client_body_temp_path {self.workdir}/body;
  proxy_temp_path {self.workdir}/proxy;
  fastcgi_temp_path {self.workdir}/fastcgi;
  uwsgi_temp_path {self.workdir}/uwsgi;
  scgi_temp_path {self.workdir}/scgi;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000;
  max_ranges 1;
  types {{ }}
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{self.port};
    root {self.root};
    {rate}
  }}
}}
"""
        self.conf = self.workdir / "nginx.conf"
        self.conf.write_text(conf)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-p", str(self.workdir), "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"nginx exited: {self.proc.stderr.read()}")
                time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def entries(self):
        """Parsed access log: dicts with method, uri, status, bytes, range, auth."""
        out = []
        if not self.access_log.exists():
            return out
        for line in self.access_log.read_text().splitlines():
            parts = line.split(" ", 4)
            rest = parts[4]
            rng, auth = rest.split('" "')
            out.append({"method": parts[0], "uri": parts[1], "status": int(parts[2]),
                        "bytes": int(parts[3]), "range": rng.strip('"'), "auth": auth.strip('"')})
        return out

    def bytes_sent(self, uri_prefix=""):
        return sum(e["bytes"] for e in self.entries() if e["uri"].startswith(uri_prefix))

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)  # graceful: flushes the access log
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def nginx_factory(tmp_path):
    servers = []

    def start(root, limit_rate=None):
        n = Nginx(tmp_path / f"nginx{len(servers)}", root, limit_rate)
        servers.append(n)
        return n

    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def fixture_factory():
    servers = []

    def start(script, *args):
        f = PythonFixture(script, *args)
        servers.append(f)
        return f

    yield start
    for s in servers:
        s.stop()


def hf_hub(tmp_path, fixture_factory, lfs_threshold, seed, other_repo=False):
    """The Hub fixture over org/model (config.json, sub/deep/notes.txt and two
    random files, model.safetensors and onnx/model.onnx, from `seed` and `seed`+1),
    datasets/org/data, and org/other when `other_repo`; `.root` is its folder."""
    root = tmp_path / "hub"
    model = root / "org" / "model"
    (model / "sub" / "deep").mkdir(parents=True)
    (model / "config.json").write_text('{"hidden_size": 8}\n')
    (model / "sub" / "deep" / "notes.txt").write_text("hello world\n")
    write_random(model / "model.safetensors", 300_000, seed=seed)
    write_random(model / "onnx" / "model.onnx", 100_000, seed=seed + 1)
    data = root / "datasets" / "org" / "data"
    data.mkdir(parents=True)
    (data / "train.csv").write_text("a,b\n1,2\n")
    if other_repo:
        other = root / "org" / "other"
        other.mkdir(parents=True)
        (other / "README.md").write_text("other\n")
    h = fixture_factory("hf_fixture.py", "--root", root, "--lfs-threshold", lfs_threshold)
    h.root = root
    return h
