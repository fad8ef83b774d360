#!/usr/bin/python3
"""modelcache benchmark: cold and warm pulls beside curl, aria2c and
@huggingface/hub, on the same data, in one run, with the machine's own limits
measured in the same run. Started by bench/run.sh (read bench/README.md).

Standard library only. Every figure is printed as seconds, MB/s (10^6 bytes)
and ratios measured side by side; absolute times on a 2-core VM are noisy.
"""

import hashlib
import json
import os
import random
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
MiB = 1 << 20


def env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


CFG = {
    "big_files": env_int("BENCH_BIG_FILES", 4),
    "big_mib": env_int("BENCH_BIG_MIB", 512),
    "small_files": env_int("BENCH_SMALL_FILES", 50),
    "warm_files": env_int("BENCH_WARM_FILES", 100),
    "rounds": env_int("BENCH_ROUNDS", 3),
    "curl_ranges": env_int("BENCH_CURL_RANGES", 8),
    "dd_count": env_int("BENCH_DD_COUNT", 128),  # x 16 MiB
    "warm_runs": env_int("BENCH_WARM_RUNS", 20),
    "hf_warm_runs": env_int("BENCH_HF_WARM_RUNS", 10),
}
DATA = os.environ.get("BENCH_DATA") or os.path.join(BENCH, "data")
RESULTS = os.path.join(BENCH, "results")
MODELCACHE = os.path.abspath(os.environ.get("BENCH_MODELCACHE")
                             or os.path.join(ROOT, "build", "modelcache"))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "hf_fixture.py")
PY = "/usr/bin/python3"
LFS_THRESHOLD = 1 << 20
SHM_TOOL = "modelcache pull to /dev/shm (diagnostic)"


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


# -- data -----------------------------------------------------------------------

def random_stream_writer(path, size, seed):
    """Writes `size` pseudo-random bytes (AES-CTR keystream from openssl: random to
    any compressor, and ~1 GB/s where os.urandom manages ~70 MB/s here); returns
    the sha256."""
    h = hashlib.sha256()
    proc = None
    if shutil.which("openssl"):
        proc = subprocess.Popen(["openssl", "enc", "-aes-128-ctr", "-pass", "pass:%s" % seed,
                                 "-nosalt", "-pbkdf2"], stdin=open("/dev/zero", "rb"),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    left = size
    with open(path + ".tmp", "wb") as f:
        while left > 0:
            n = min(left, 4 * MiB)
            chunk = proc.stdout.read(n) if proc else os.urandom(n)
            if not chunk:
                raise RuntimeError("random generator ended early")
            f.write(chunk)
            h.update(chunk)
            left -= len(chunk)
    if proc:
        proc.kill()
        proc.wait()
    os.rename(path + ".tmp", path)
    return h.hexdigest()


def dataset():
    """The data set for this configuration under bench/data (made once, reused)."""
    name = "set-%dx%dm-%ds-%dw" % (CFG["big_files"], CFG["big_mib"], CFG["small_files"],
                                   CFG["warm_files"])
    base = os.path.join(DATA, name)
    manifest = os.path.join(base, "set.json")
    if os.path.exists(manifest):
        with open(manifest) as f:
            ds = json.load(f)
        ok = all(os.path.isfile(os.path.join(base, "repo", ds["model"], p["path"]))
                 and os.path.getsize(os.path.join(base, "repo", ds["model"], p["path"])) == p["size"]
                 and os.path.isfile(os.path.join(base, "lfs", p["sha256"]))
                 for p in ds["model_files"])
        if ok:
            ds["base"] = base
            log("reusing data set %s" % base)
            return ds
    log("generating data set %s" % base)
    shutil.rmtree(base, ignore_errors=True)
    rng = random.Random(20240101)
    model_dir = os.path.join(base, "repo", "bench", "model")
    small_dir = os.path.join(base, "repo", "bench", "small")
    lfs_dir = os.path.join(base, "lfs")
    for d in (model_dir, small_dir, lfs_dir):
        os.makedirs(d)
    files = []

    def add(folder, rel, size, seed, record):
        path = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if size > 4 * MiB:
            digest = random_stream_writer(path, size, seed)
        else:
            data = rng.randbytes(size)
            with open(path, "wb") as f:
                f.write(data)
            digest = hashlib.sha256(data).hexdigest()
        if record is not None:
            record.append({"path": rel, "size": size, "sha256": digest})

    n = CFG["big_files"]
    for i in range(n):
        t = time.perf_counter()
        add(model_dir, "model-%05d-of-%05d.safetensors" % (i + 1, n), CFG["big_mib"] * MiB,
            "bench-big-%d" % i, files)
        log("  big file %d/%d (%.1f s)" % (i + 1, n, time.perf_counter() - t))
    for i in range(CFG["small_files"]):
        rel = "config.json" if i == 0 else "assets/part%d/small_%03d.bin" % (i % 3, i)
        add(model_dir, rel, rng.randint(1024, 100 * 1024), None, files)
    warm = []
    for i in range(CFG["warm_files"]):
        add(small_dir, "dir%d/file_%03d.bin" % (i % 4, i), rng.randint(1024, 100 * 1024),
            None, warm)
    for p in files:  # nginx serves the same inodes by sha256 name too
        dst = os.path.join(lfs_dir, p["sha256"])
        if not os.path.exists(dst):
            os.link(os.path.join(model_dir, p["path"]), dst)
    ds = {"model": "bench/model", "small": "bench/small", "model_files": files,
          "small_files": warm}
    with open(manifest, "w") as f:
        json.dump(ds, f, indent=1)
    ds["base"] = base
    return ds


# -- servers --------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("%s exited with %s" % (what, proc.returncode))
            time.sleep(0.05)
    raise RuntimeError("%s did not start" % what)


class Servers:
    def __init__(self, run_dir):
        self.run_dir = run_dir
        self.procs = []
        self.pidfile = os.path.join(run_dir, "server.pids")

    def remember(self, proc):
        self.procs.append(proc)
        with open(self.pidfile, "a") as f:
            f.write("%d\n" % proc.pid)

    def start_nginx(self, root):
        work = os.path.join(self.run_dir, "nginx")
        os.makedirs(work, exist_ok=True)
        port = free_port()
        user = "user root;" if os.geteuid() == 0 else ""
        conf = """
%(user)s
worker_processes 2;
daemon off;
pid %(w)s/nginx.pid;
error_log %(w)s/error.log warn;
events { worker_connections 1024; }
http {
  log_format mc '$request_method $uri $status $body_bytes_sent "$http_range"';
  access_log %(w)s/access.log mc;
  client_body_temp_path %(w)s/body;
  proxy_temp_path %(w)s/proxy;
  fastcgi_temp_path %(w)s/fastcgi;
  uwsgi_temp_path %(w)s/uwsgi;
  scgi_temp_path %(w)s/scgi;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000;
  max_ranges 1;
  types { }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:%(port)d;
    root %(root)s;
  }
}
""" % {"user": user, "w": work, "port": port, "root": root}
        path = os.path.join(work, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        proc = subprocess.Popen([nginx, "-p", work, "-c", path], stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(work, "stderr.log"), "w"))
        self.remember(proc)
        self.nginx = proc
        wait_port(port, proc, "nginx")
        self.nginx_log = os.path.join(work, "access.log")
        return "http://127.0.0.1:%d" % port

    def nginx_bytes(self):
        total = 0
        try:
            with open(self.nginx_log) as f:
                for line in f:
                    total += int(line.split(" ")[3])
        except OSError:
            pass
        return total

    def start_fixture(self, hub_root, lfs_base):
        proc = subprocess.Popen([PY, FIXTURE, "--root", hub_root, "--lfs-threshold",
                                 str(LFS_THRESHOLD), "--lfs-base-url", lfs_base, "--watch-stdin"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=open(os.path.join(self.run_dir, "fixture.log"), "w"),
                                text=True)
        self.remember(proc)
        self.fixture = proc
        ports = {}
        while "PORT" not in ports:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("hf_fixture exited")
            key, value = line.split()
            ports[key] = int(value)
        return "http://127.0.0.1:%d" % ports["PORT"]

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGQUIT if proc is getattr(self, "nginx", None)
                                     else signal.SIGTERM)
                    proc.wait(timeout=10)
                except (subprocess.TimeoutExpired, OSError):
                    proc.kill()
                    proc.wait()


# -- measuring ------------------------------------------------------------------

def run_timed(argv, env=None, cwd=None):
    """(seconds, CompletedProcess) for one process, start to exit."""
    t = time.perf_counter()
    cp = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True)
    return time.perf_counter() - t, cp


def timed_sync():
    t = time.perf_counter()
    os.sync()
    return time.perf_counter() - t


def tree_ok(folder, files):
    """Every file is there with its size (following symlinks)."""
    for p in files:
        path = os.path.join(folder, p["path"])
        try:
            if os.path.getsize(path) != p["size"]:
                return "%s: size %d, expected %d" % (p["path"], os.path.getsize(path), p["size"])
        except OSError as e:
            return "%s: %s" % (p["path"], e.strerror)
    return None


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    os.sync()
    return path


def median(xs):
    return statistics.median(xs) if xs else None


class Bench:
    def __init__(self):
        self.run_dir = os.path.join(DATA, "run")
        shutil.rmtree(self.run_dir, ignore_errors=True)
        os.makedirs(self.run_dir)
        self.servers = Servers(self.run_dir)
        self.cold = {}      # tool -> {"times": [], "sync": [], "error": str|None}
        self.limits = {}    # name -> [seconds]
        self.limit_bytes = {}
        self.warm = {}
        self.notes = []

    # machine limits ----------------------------------------------------------------

    def add_limit(self, name, nbytes, seconds):
        self.limits.setdefault(name, []).append(seconds)
        self.limit_bytes[name] = nbytes

    def measure_limits(self):
        big = self.ds["model_files"][0]
        url = "%s/lfs/%s" % (self.nginx, big["sha256"])
        size = big["size"]
        # one stream
        s, cp = run_timed(["curl", "-sSf", "-o", "/dev/null", url])
        if cp.returncode == 0:
            self.add_limit("curl 1 stream -> /dev/null", size, s)
        # N ranges in parallel
        n = CFG["curl_ranges"]
        step = (size + n - 1) // n
        t = time.perf_counter()
        procs = [subprocess.Popen(["curl", "-sSf", "-o", "/dev/null", "-r",
                                   "%d-%d" % (i * step, min(size, (i + 1) * step) - 1), url])
                 for i in range(n)]
        rcs = [p.wait() for p in procs]
        if not any(rcs):
            self.add_limit("curl %d ranges -> /dev/null" % n, size, time.perf_counter() - t)
        # disk write, O_DIRECT
        dd_path = os.path.join(DATA, "ddtest")
        os.sync()
        s, cp = run_timed(["dd", "if=/dev/zero", "of=" + dd_path, "bs=16M",
                           "count=%d" % CFG["dd_count"], "oflag=direct"])
        os.unlink(dd_path) if os.path.exists(dd_path) else None
        if cp.returncode == 0:
            self.add_limit("dd write 16M O_DIRECT", CFG["dd_count"] * 16 * MiB, s)
        # buffered writes + one fdatasync: what a tool that must make its file durable
        # without O_DIRECT gets from this disk (informational)
        os.sync()
        s, cp = run_timed(["dd", "if=/dev/zero", "of=" + dd_path, "bs=16M",
                           "count=%d" % CFG["dd_count"], "conv=fdatasync"])
        os.unlink(dd_path) if os.path.exists(dd_path) else None
        if cp.returncode == 0:
            self.add_limit("dd write 16M buffered + fdatasync", CFG["dd_count"] * 16 * MiB, s)
        # sha256 of one big file from the page cache, one core (informational)
        path = os.path.join(self.ds["base"], "lfs", big["sha256"])
        s, cp = run_timed(["openssl", "dgst", "-sha256", path])
        if cp.returncode == 0:
            self.add_limit("sha256 openssl 1 core (page cache)", size, s)

    # cold pulls ----------------------------------------------------------------------

    def record_cold(self, tool, seconds, error, sync_s):
        entry = self.cold.setdefault(tool, {"times": [], "sync": [], "error": None})
        if error:
            entry["error"] = error
            log("  %-28s FAILED: %s" % (tool, error))
            return
        entry["times"].append(seconds)
        entry["sync"].append(sync_s)
        log("  %-28s %7.2f s  (+ sync %.2f s)  %7.0f MB/s"
            % (tool, seconds, sync_s, self.total_bytes / seconds / 1e6))

    def cold_modelcache(self, tool="modelcache pull", home=None):
        home = fresh(home or os.path.join(self.run_dir, "mc-home"))
        env = dict(os.environ, HF_ENDPOINT=self.hub, MODELCACHE_HOME=home)
        s, cp = run_timed([MODELCACHE, "pull", "hf://bench/model", "--quiet"], env=env)
        sync_s = timed_sync()
        err = None
        if cp.returncode != 0:
            err = "exit %d: %s" % (cp.returncode, cp.stderr.strip()[-300:])
        else:
            lines = cp.stdout.strip().splitlines()
            err = tree_ok(lines[-1], self.ds["model_files"]) if lines else "no path printed"
        self.record_cold(tool, s, err, sync_s)
        fresh(home)

    def shm_fits(self):
        try:
            st = os.statvfs("/dev/shm")
        except OSError:
            return False
        return st.f_bavail * st.f_frsize > 2 * self.total_bytes

    def cold_curl(self):
        out = fresh(os.path.join(self.run_dir, "curl-out"))
        files = self.ds["model_files"]
        t = time.perf_counter()
        procs = [subprocess.Popen(["curl", "-sSf", "--create-dirs", "-o",
                                   os.path.join(out, p["path"]),
                                   "%s/repo/bench/model/%s" % (self.nginx, p["path"])],
                                  stderr=subprocess.PIPE) for p in files]
        rcs = [p.wait() for p in procs]
        s = time.perf_counter() - t
        sync_s = timed_sync()
        err = "curl failed: %s" % [r for r in rcs if r][:3] if any(rcs) else tree_ok(out, files)
        self.record_cold("curl, 1 process per file", s, err, sync_s)
        fresh(out)

    def cold_aria2(self, checksum):
        tool = "aria2c -x8 -s8 -j8" + (" +sha-256" if checksum else "")
        out = fresh(os.path.join(self.run_dir, "aria2-out"))
        files = self.ds["model_files"]
        lines = []
        for p in files:
            lines.append("%s/repo/bench/model/%s" % (self.nginx, p["path"]))
            lines.append("  out=%s" % p["path"])
            if checksum:
                lines.append("  checksum=sha-256=%s" % p["sha256"])
        listing = os.path.join(self.run_dir, "aria2.list")
        with open(listing, "w") as f:
            f.write("\n".join(lines) + "\n")
        argv = ["aria2c", "-x8", "-s8", "-j8", "-i", listing, "-d", out,
                "--file-allocation=falloc", "--allow-overwrite=true", "--auto-file-renaming=false",
                "--console-log-level=warn", "--summary-interval=0", "--download-result=hide",
                "-q"]
        s, cp = run_timed(argv)
        sync_s = timed_sync()
        err = ("exit %d: %s" % (cp.returncode, (cp.stdout + cp.stderr).strip()[-300:])
               if cp.returncode else tree_ok(out, files))
        self.record_cold(tool, s, err, sync_s)
        fresh(out)

    def cold_hf(self):
        cache = fresh(os.path.join(self.run_dir, "hf-cache"))
        s, cp = run_timed(["node", os.path.join(BENCH, "hf_snapshot.mjs"), "--hub", self.hub,
                           "--repo", "bench/model", "--cache", cache], cwd=BENCH)
        sync_s = timed_sync()
        err = None
        if cp.returncode != 0:
            err = "exit %d: %s" % (cp.returncode, cp.stderr.strip()[-300:])
        else:
            err = tree_ok(json.loads(cp.stdout.strip().splitlines()[-1])["path"],
                          self.ds["model_files"])
        self.record_cold("@huggingface/hub snapshotDownload", s, err, sync_s)
        fresh(cache)

    # warm pulls ----------------------------------------------------------------------

    def hub_log(self, method="GET"):
        """The fixture's request log ([] and a note if it cannot be read)."""
        req = urllib.request.Request(self.hub + "/__log", method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.load(r)
        except OSError as e:
            fx = self.servers.fixture
            self.notes.append("could not read the fixture's request log (%s; fixture %s)"
                              % (e, "running" if fx.poll() is None
                                 else "exited with %s" % fx.returncode))
            return []

    def commit_of(self, repo):
        with urllib.request.urlopen("%s/api/models/%s" % (self.hub, repo)) as r:
            return json.load(r)["sha"]

    def time_command(self, argv, env, warmup, runs, tag):
        """Median/mean/min seconds of a whole process: hyperfine -N when available."""
        if shutil.which("hyperfine"):
            out = os.path.join(self.run_dir, "hyperfine-%s.json" % tag)
            cmd = " ".join(shlex.quote(a) for a in argv)
            cp = subprocess.run(["hyperfine", "--warmup", str(warmup), "-N", "--min-runs",
                                 str(runs), "--style", "none", "--export-json", out, cmd],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if cp.returncode != 0:
                return {"error": (cp.stdout + cp.stderr).strip()[-300:]}
            with open(out) as f:
                r = json.load(f)["results"][0]
            return {"median": r["median"], "mean": r["mean"], "min": r["min"],
                    "stddev": r["stddev"], "runs": len(r["times"]), "how": "hyperfine -N"}
        times = []
        for i in range(warmup + runs):
            s, cp = run_timed(argv, env=env)
            if cp.returncode != 0:
                return {"error": cp.stderr.strip()[-300:]}
            if i >= warmup:
                times.append(s)
        return {"median": median(times), "mean": statistics.mean(times), "min": min(times),
                "stddev": statistics.pstdev(times), "runs": len(times), "how": "loop"}

    def warm_pulls(self):
        commit = self.commit_of("bench/small")
        self.small_ref = "hf://bench/small@%s" % commit
        files = self.ds["small_files"]
        # modelcache: one cold pull, then timed warm pulls of the pinned commit
        home = fresh(os.path.join(self.run_dir, "mc-warm-home"))
        env = dict(os.environ, HF_ENDPOINT=self.hub, MODELCACHE_HOME=home)
        argv = [MODELCACHE, "pull", self.small_ref, "--quiet"]
        s, cp = run_timed(argv, env=env)
        if cp.returncode != 0:
            self.warm["modelcache"] = {"error": "cold pull: exit %d: %s"
                                       % (cp.returncode, cp.stderr.strip()[-300:])}
        else:
            bad = tree_ok(cp.stdout.strip().splitlines()[-1], files)
            if bad:
                self.warm["modelcache"] = {"error": bad}
            else:
                self.hub_log("DELETE")
                r = self.time_command(argv, env, 3, CFG["warm_runs"], "modelcache")
                r["origin_requests"] = len(self.hub_log())
                r["cold_s"] = s
                self.warm["modelcache"] = r
        log("  modelcache warm: %s" % self.warm["modelcache"])
        # snapshotDownload: one cold process, then warm processes on the same cacheDir
        cache = fresh(os.path.join(self.run_dir, "hf-warm-cache"))
        node = ["node", os.path.join(BENCH, "hf_snapshot.mjs"), "--hub", self.hub,
                "--repo", "bench/small", "--revision", commit, "--cache", cache]
        s, cp = run_timed(node, cwd=BENCH)
        if cp.returncode != 0:
            self.warm["hf"] = {"error": "cold: exit %d: %s" % (cp.returncode,
                                                              cp.stderr.strip()[-300:])}
            return
        bad = tree_ok(json.loads(cp.stdout.strip().splitlines()[-1])["path"], files)
        if bad:
            self.warm["hf"] = {"error": bad}
            return
        self.hub_log("DELETE")
        r = self.time_command(node, dict(os.environ), 1, CFG["hf_warm_runs"], "hf")
        r["origin_requests_per_run"] = len(self.hub_log()) / max(1, r.get("runs", 1) + 1)
        r["cold_s"] = s
        # the call itself, inside one process: calls 2..N (warm and JIT-warmed)
        s2, cp = run_timed(node + ["--calls", str(CFG["hf_warm_runs"] + 1)], cwd=BENCH)
        if cp.returncode == 0:
            calls = json.loads(cp.stdout.strip().splitlines()[-1])["calls_ms"]
            r["in_process_first_ms"] = calls[0]
            r["in_process_median_ms"] = median(calls[1:])
        self.warm["hf"] = r
        log("  snapshotDownload warm: %s" % r)

    # the whole run ---------------------------------------------------------------------

    def run(self):
        self.t0 = time.time()
        self.ds = dataset()
        self.total_bytes = sum(p["size"] for p in self.ds["model_files"])
        self.nginx = self.servers.start_nginx(self.ds["base"])
        self.hub = self.servers.start_fixture(os.path.join(self.ds["base"], "repo"),
                                              self.nginx + "/lfs")
        log("nginx %s, hub fixture %s" % (self.nginx, self.hub))
        # the fixture hashes every file once (cached): do it before anything is timed
        self.commit_of("bench/model")
        self.commit_of("bench/small")
        # page cache: read the data once so every tool starts from the same state
        for p in self.ds["model_files"]:
            with open(os.path.join(self.ds["base"], "lfs", p["sha256"]), "rb") as f:
                while f.read(16 * MiB):
                    pass
        if not os.access(MODELCACHE, os.X_OK):
            self.notes.append("modelcache binary %s not found" % MODELCACHE)
        for rnd in range(CFG["rounds"]):
            log("round %d/%d: machine limits" % (rnd + 1, CFG["rounds"]))
            self.measure_limits()
            log("round %d/%d: cold pulls of %d files, %.0f MB" % (
                rnd + 1, CFG["rounds"], len(self.ds["model_files"]), self.total_bytes / 1e6))
            self.cold_modelcache()
            self.cold_curl()
            self.cold_aria2(checksum=False)
            self.cold_aria2(checksum=True)
            self.cold_hf()
            if self.shm_fits():  # diagnostic: the same pull with no disk under it
                self.cold_modelcache(SHM_TOOL, "/dev/shm/modelcache-bench-%d" % os.getpid())
        log("warm pulls of %d files" % len(self.ds["small_files"]))
        self.warm_pulls()
        self.elapsed = time.time() - self.t0

    # report --------------------------------------------------------------------------

    def report(self):
        mb = self.total_bytes / 1e6
        out = []
        w = out.append
        w("# modelcache benchmark")
        w("")
        w("- date: %s" % time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(self.t0)))
        w("- command: `%s`" % os.environ.get("BENCH_COMMAND", "bash bench/run.sh"))
        w("- settings: %s" % ", ".join("%s=%s" % kv for kv in CFG.items()))
        w("- machine: nproc %s; %s" % (os.cpu_count(), machine_memory()))
        w("- modelcache: `%s` (%s)" % (os.path.relpath(MODELCACHE, ROOT), git_rev()))
        w("- peers: %s" % peer_versions())
        w("- run took %.0f s" % self.elapsed)
        w("")
        w("## Cold pull: %d files, %.0f MB (%d x %d MiB + %d small), median of %d rounds"
          % (len(self.ds["model_files"]), mb, CFG["big_files"], CFG["big_mib"],
             CFG["small_files"], CFG["rounds"]))
        w("")
        w("Origins on 127.0.0.1: nginx (sendfile) serves the bytes; Hub clients get "
          "metadata and small files from `hf_fixture.py` and a 302 to nginx for LFS "
          "files. Fresh output/cache dir per run, same disk; page cache not dropped. "
          "`s + sync` adds a `sync` run right after the tool exits (modelcache "
          "fsyncs before it commits; curl and aria2c do not). The `/dev/shm` row "
          "is a diagnostic (no disk under the cache: network + hashing + commit "
          "only), not a comparison and not used for the goals.")
        w("")
        w("| tool | s | MB/s | x aria2c | s + sync | MB/s incl. sync | runs (s) |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
        aria = self.cold.get("aria2c -x8 -s8 -j8", {})
        aria_s = median(aria.get("times", []))
        for tool, e in self.cold.items():
            if e["error"] or not e["times"]:
                w("| %s | FAILED | | | | | %s |" % (tool, md_escape(e["error"] or "no run")))
                continue
            s = median(e["times"])
            ss = median([a + b for a, b in zip(e["times"], e["sync"])])
            ratio = "%.2f" % (aria_s / s) if aria_s else "-"
            w("| %s | %.2f | %.0f | %s | %.2f | %.0f | %s |" % (
                tool, s, mb / s, ratio, ss, mb / ss, " / ".join("%.2f" % t for t in e["times"])))
        w("")
        w("## Machine limits, measured in the same run (median of %d)" % CFG["rounds"])
        w("")
        w("| limit | s | MB/s | runs (s) |")
        w("| --- | ---: | ---: | --- |")
        rates = {}
        for name, times in self.limits.items():
            s = median(times)
            rates[name] = self.limit_bytes[name] / s / 1e6
            w("| %s | %.2f | %.0f | %s |" % (name, s, rates[name],
                                             " / ".join("%.2f" % t for t in times)))
        w("")
        w("## Goals")
        w("")
        w("| goal | measured | verdict |")
        w("| --- | ---: | --- |")
        mc = self.cold.get("modelcache pull", {})
        mc_s = median(mc.get("times", [])) if not mc.get("error") else None
        if mc_s and aria_s:
            r = aria_s / mc_s
            w("| modelcache cold >= 2x aria2c throughput | %.2fx | %s |" % (r, verdict(r >= 2)))
        else:
            w("| modelcache cold >= 2x aria2c throughput | n/a | %s |"
              % md_escape(mc.get("error") or "no figure"))
        net = [v for k, v in rates.items() if k.startswith("curl %d ranges" % CFG["curl_ranges"])]
        disk = [v for k, v in rates.items() if k.startswith("dd ")]
        if mc_s and net and disk:
            lim = min(net[0], disk[0])
            r = mb / mc_s / lim
            w("| modelcache cold >= 0.6x min(parallel curl, dd) = %.0f MB/s | %.2fx (%.0f MB/s) "
              "| %s |" % (lim, r, mb / mc_s, verdict(r >= 0.6)))
        else:
            w("| modelcache cold >= 0.6x machine limit | n/a | |")
        buffered = [v for k, v in rates.items() if k.startswith("dd write 16M buffered")]
        if mc_s and buffered:
            w("| (info) modelcache cold vs dd buffered + fdatasync = %.0f MB/s | %.2fx | |"
              % (buffered[0], mb / mc_s / buffered[0]))
        wm = self.warm.get("modelcache", {})
        hf = self.warm.get("hf", {})
        if "median" in wm:
            ms = wm["median"] * 1e3
            w("| modelcache warm (%d files, pinned commit) < 10 ms, whole process | %.2f ms "
              "| %s |" % (len(self.ds["small_files"]), ms, verdict(ms < 10)))
            if "median" in hf:
                r = hf["median"] / wm["median"]
                w("| modelcache warm >= 20x snapshotDownload warm (whole `node` process) "
                  "| %.0fx | %s |" % (r, verdict(r >= 20)))
            if hf.get("in_process_median_ms"):
                r = hf["in_process_median_ms"] / ms
                w("| modelcache warm >= 20x snapshotDownload warm (the call alone, in-process) "
                  "| %.1fx | %s |" % (r, verdict(r >= 20)))
        else:
            w("| modelcache warm < 10 ms | n/a | %s |" % md_escape(wm.get("error", "no figure")))
        w("")
        w("## Warm pull: `%s` (%d small files), whole process"
          % (getattr(self, "small_ref", "hf://bench/small@<commit>"), len(self.ds["small_files"])))
        w("")
        w("| tool | median ms | mean ms | min ms | runs | origin requests | cold s |")
        w("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        if "median" in wm:
            w("| modelcache pull (%s) | %.2f | %.2f | %.2f | %d | %d in all | %.2f |" % (
                wm["how"], wm["median"] * 1e3, wm["mean"] * 1e3, wm["min"] * 1e3, wm["runs"],
                wm["origin_requests"], wm["cold_s"]))
        elif wm:
            w("| modelcache pull | FAILED | | | | | %s |" % md_escape(wm.get("error", "")))
        if "median" in hf:
            w("| node + snapshotDownload (%s) | %.1f | %.1f | %.1f | %d | %.0f per run | %.2f |" % (
                hf["how"], hf["median"] * 1e3, hf["mean"] * 1e3, hf["min"] * 1e3, hf["runs"],
                hf["origin_requests_per_run"], hf["cold_s"]))
            if hf.get("in_process_median_ms"):
                w("| snapshotDownload call in-process (calls 2..%d of one process; first %.1f) "
                  "| %.1f | | | %d | | |" % (CFG["hf_warm_runs"] + 1, hf["in_process_first_ms"],
                                           hf["in_process_median_ms"], CFG["hf_warm_runs"]))
        elif hf:
            w("| snapshotDownload | FAILED | | | | | %s |" % md_escape(hf.get("error", "")))
        if self.notes:
            w("")
            w("Notes: " + "; ".join(self.notes))
        return "\n".join(out) + "\n"


def verdict(ok):
    return "PASS" if ok else "**MISS**"


def md_escape(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def machine_memory():
    try:
        cp = subprocess.run(["free", "-g"], stdout=subprocess.PIPE, text=True)
        mem = [l for l in cp.stdout.splitlines() if l.startswith("Mem:")][0].split()
        return "free -g: total %s GiB, available %s GiB" % (mem[1], mem[-1])
    except (OSError, IndexError):
        return "free -g unavailable"


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src",
                                "include"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
        return "git %s%s" % (rev.stdout.strip(), " + uncommitted src changes"
                             if dirty.stdout.strip() else "")
    except OSError:
        return "git unavailable"


def peer_versions():
    parts = []
    for argv, pick in ((["curl", "--version"], lambda s: s.split()[1]),
                       (["aria2c", "--version"], lambda s: s.split()[2]),
                       (["nginx", "-v"], lambda s: s.strip().split("/")[-1]),
                       (["node", "--version"], lambda s: s.strip())):
        try:
            cp = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            parts.append("%s %s" % (argv[0], pick(cp.stdout.splitlines()[0])))
        except (OSError, IndexError):
            pass
    try:
        with open(os.path.join(BENCH, "node_modules", "@huggingface", "hub", "package.json")) as f:
            parts.append("@huggingface/hub %s" % json.load(f)["version"])
    except OSError:
        pass
    return ", ".join(parts)


def main():
    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    os.makedirs(DATA, exist_ok=True)
    bench = Bench()
    try:
        bench.run()
    finally:
        bench.servers.stop()
        shutil.rmtree("/dev/shm/modelcache-bench-%d" % os.getpid(), ignore_errors=True)
    text = bench.report()
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "latest.md"), "w") as f:
        f.write(text)
    with open(os.path.join(RESULTS, "latest.json"), "w") as f:
        json.dump({"config": CFG, "bytes": bench.total_bytes, "cold": bench.cold,
                   "limits": bench.limits, "limit_bytes": bench.limit_bytes,
                   "warm": bench.warm}, f, indent=1)
    shutil.rmtree(bench.run_dir, ignore_errors=True)
    print(text)


if __name__ == "__main__":
    main()
