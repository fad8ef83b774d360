#!/usr/bin/python3
"""Daemon benchmark (issue 5 item 6), started by bench/serve.sh:

(a) file throughput: `modelcache serve` vs nginx serving the same cached blob
    (nginx's root is the cache itself, so both send the very same file from the
    page cache) to the same client: one `curl` stream, and N parallel `curl -r`
    ranges; MB/s and the ratio daemon/nginx (goal >= 0.9).
(b) warm `snapshotDownload` (@huggingface/hub, bench/hf_snapshot.mjs) of a
    multi-file repo through the daemon vs directly from the Hub fixture: seconds
    per call once the client's cacheDir is filled, and the ratio.

Standard library only; reuses bench.py's servers and data generator.
"""

import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (bench/bench.py: servers, random data, timing helpers)

CFG = {
    "big_mib": bench.env_int("BENCH_SERVE_MIB", 1024),
    "small_files": bench.env_int("BENCH_SERVE_SMALL", 50),
    "rounds": bench.env_int("BENCH_SERVE_ROUNDS", 5),
    "ranges": bench.env_int("BENCH_SERVE_RANGES", 8),
    "warm_calls": bench.env_int("BENCH_SERVE_WARM_CALLS", 10),
}
REPO = "bench/serve"
log = bench.log


def dataset():
    """repo bench/serve: one big pseudo-random file + small files (made once)."""
    base = os.path.join(bench.DATA, "serve-%dm-%ds" % (CFG["big_mib"], CFG["small_files"]))
    marker = os.path.join(base, "set.json")
    if os.path.exists(marker):
        with open(marker) as f:
            ds = json.load(f)
        ds["base"] = base
        log("reusing data set %s" % base)
        return ds
    log("generating data set %s" % base)
    shutil.rmtree(base, ignore_errors=True)
    repo = os.path.join(base, "repo", REPO)
    os.makedirs(repo)
    os.makedirs(os.path.join(base, "lfs"))
    big = os.path.join(repo, "model.safetensors")
    digest = bench.random_stream_writer(big, CFG["big_mib"] * bench.MiB, "bench-serve")
    os.link(big, os.path.join(base, "lfs", digest))
    rng = bench.random.Random(5)
    for i in range(CFG["small_files"]):
        path = os.path.join(repo, "assets/part%d/small_%03d.bin" % (i % 3, i))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(rng.randbytes(rng.randint(1024, 100 * 1024)))
    ds = {"big": {"path": "model.safetensors", "size": CFG["big_mib"] * bench.MiB, "sha256": digest},
          "files": 1 + CFG["small_files"]}
    with open(marker, "w") as f:
        json.dump(ds, f)
    ds["base"] = base
    return ds


def start_daemon(servers, home, hub):
    port = bench.free_port()
    env = dict(os.environ, MODELCACHE_HOME=home, HF_ENDPOINT=hub)
    proc = subprocess.Popen([bench.MODELCACHE, "serve", "--listen", "127.0.0.1:%d" % port,
                             "--upstream-hf", hub], env=env, stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(servers.run_dir, "daemon.log"), "w"))
    servers.remember(proc)
    bench.wait_port(port, proc, "modelcache serve")
    return "http://127.0.0.1:%d" % port


def curl_parallel(url, size, n):
    """Seconds for n parallel `curl -r` ranges of url (None when one failed)."""
    step = (size + n - 1) // n
    t = time.perf_counter()
    procs = [subprocess.Popen(["curl", "-sSf", "-o", "/dev/null", "-r",
                               "%d-%d" % (i * step, min(size, (i + 1) * step) - 1), url])
             for i in range(n)]
    ok = all(p.wait() == 0 for p in procs)
    return time.perf_counter() - t if ok else None


def curl_single(url):
    s, cp = bench.run_timed(["curl", "-sSf", "-o", "/dev/null", url])
    return s if cp.returncode == 0 else None


def snapshot_calls(hub, cache, calls):
    """ms of each snapshotDownload call in one node process (first: client cold)."""
    cp = subprocess.run(["node", os.path.join(bench.BENCH, "hf_snapshot.mjs"), "--hub", hub,
                         "--repo", REPO, "--cache", cache, "--calls", str(calls)],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if cp.returncode != 0:
        raise RuntimeError("snapshotDownload via %s failed: %s" % (hub, cp.stderr.strip()[-300:]))
    return json.loads(cp.stdout.strip().splitlines()[-1])["calls_ms"]


def mbps(size, seconds):
    return size / seconds / 1e6 if seconds else None


def main():
    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    for sig in (bench.signal.SIGINT, bench.signal.SIGTERM, bench.signal.SIGHUP):
        bench.signal.signal(sig, on_signal)
    ds = dataset()
    run_dir = os.path.join(bench.DATA, "run-serve")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    servers = bench.Servers(run_dir)
    home = os.path.join(run_dir, "home")
    results = {}
    try:
        origin = servers.start_nginx(ds["base"])
        hub = servers.start_fixture(os.path.join(ds["base"], "repo"), origin + "/lfs")
        env = dict(os.environ, MODELCACHE_HOME=home, HF_ENDPOINT=hub)
        cp = subprocess.run([bench.MODELCACHE, "pull", "hf://" + REPO, "--json", "--quiet"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if cp.returncode != 0:
            raise RuntimeError("modelcache pull failed: " + cp.stderr.strip())
        commit = json.loads(cp.stdout)["snapshot"]
        daemon = start_daemon(servers, home, hub)
        # A second nginx whose root is the cache: it serves the daemon's own blob.
        blob_nginx = bench.Servers(os.path.join(run_dir, "blob"))
        os.makedirs(blob_nginx.run_dir)
        nginx = blob_nginx.start_nginx(home)
        servers.remember(blob_nginx.nginx)
        big = ds["big"]
        sha = big["sha256"]
        urls = {"nginx": "%s/blobs/sha256/%s/%s" % (nginx, sha[:2], sha),
                "daemon": "%s/%s/resolve/%s/%s" % (daemon, REPO, commit, big["path"])}
        size = big["size"]
        for name, url in urls.items():  # warm up the page cache and check the bytes
            got = subprocess.run(["sh", "-c", "curl -sSf '%s' | sha256sum" % url],
                                 stdout=subprocess.PIPE, text=True).stdout.split()[0]
            if got != sha:
                raise RuntimeError("%s served wrong bytes for the big file" % name)
        times = {k: {"single": [], "parallel": []} for k in urls}
        for r in range(CFG["rounds"]):
            order = list(urls) if r % 2 == 0 else list(reversed(urls))  # interleaved
            for name in order:
                times[name]["single"].append(curl_single(urls[name]))
                times[name]["parallel"].append(curl_parallel(urls[name], size, CFG["ranges"]))
            log("round %d/%d done" % (r + 1, CFG["rounds"]))
        results["throughput"] = times
        # (b) snapshotDownload through the daemon vs from the fixture, client cold then warm.
        snap = {}
        for name, endpoint in (("fixture", hub), ("daemon", daemon)):
            cache = os.path.join(run_dir, "hfcache-" + name)
            snap[name] = snapshot_calls(endpoint, cache, 1 + CFG["warm_calls"])
        results["snapshot"] = snap
    finally:
        servers.stop()
    report(ds, results)
    shutil.rmtree(run_dir, ignore_errors=True)


def report(ds, results):
    size = ds["big"]["size"]
    lines = ["## modelcache serve vs nginx (bench/serve.sh)", "",
             "Config: %s; big file %.2f GB; %d rounds interleaved, median." %
             (json.dumps(CFG), size / 1e9, CFG["rounds"]), "",
             "### (a) one cached file, same client", "",
             "| client | nginx MB/s | daemon MB/s | daemon / nginx |", "|---|---|---|---|"]
    t = results["throughput"]
    for key, label in (("single", "curl, 1 stream"),
                       ("parallel", "%d parallel curl ranges" % CFG["ranges"])):
        med = {}
        for name in ("nginx", "daemon"):
            xs = [x for x in t[name][key] if x is not None]
            med[name] = bench.median(xs) if len(xs) == len(t[name][key]) else None
        n, d = mbps(size, med["nginx"]), mbps(size, med["daemon"])
        ratio = "%.2f" % (d / n) if n and d else "FAILED"
        lines.append("| %s | %s | %s | %s |" % (label, "%.0f" % n if n else "FAILED",
                                               "%.0f" % d if d else "FAILED", ratio))
    s = results["snapshot"]
    lines += ["", "### (b) @huggingface/hub snapshotDownload of %s (%d files)" % (REPO, ds["files"]), "",
              "| endpoint | first call, client cold (s) | warm call, median (s) |", "|---|---|---|"]
    warm = {}
    for name, label in (("fixture", "Hub fixture direct (LFS bytes from nginx)"),
                        ("daemon", "through modelcache serve")):
        warm[name] = bench.median(s[name][1:]) / 1000 if len(s[name]) > 1 else None
        lines.append("| %s | %.2f | %s |" % (label, s[name][0] / 1000,
                                             "%.4f" % warm[name] if warm[name] else "-"))
    if warm["fixture"] and warm["daemon"]:
        lines += ["", "warm: daemon / fixture time = %.2f (lower is better); cold (mirror warm): %.2f" %
                  (warm["daemon"] / warm["fixture"], s["daemon"][0] / s["fixture"][0])]
    lines.append("")
    text = "\n".join(lines)
    os.makedirs(bench.RESULTS, exist_ok=True)
    with open(os.path.join(bench.RESULTS, "serve-latest.md"), "w") as f:
        f.write(text)
    with open(os.path.join(bench.RESULTS, "serve-latest.json"), "w") as f:
        json.dump({"config": CFG, "size": size, **results}, f, indent=1)
    print(text)


if __name__ == "__main__":
    main()
