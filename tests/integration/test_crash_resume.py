"""Invariant 5: kill -9 in the middle of a multi-gigabyte pull leaves a valid
cache, and the next pull fetches only what is missing (plus at most one
segment per connection), measured in nginx's access log."""
import os
import signal
import time
from pathlib import Path

from conftest import assert_cache_valid, sha256_file, write_random

SIZE = 2 << 30  # 2 GiB
CONNECTIONS = 4
SEGMENT_SLACK = 4 << 20  # bytes received but not yet journaled, per connection


def test_kill_9_mid_pull_then_resume(mc, nginx_factory, tmp_path):
    data = tmp_path / "www"
    src = write_random(data / "big.bin", SIZE, seed=11)
    # 100 MB/s per connection: the kill lands mid-transfer, whatever the machine.
    nginx = nginx_factory(data, limit_rate="100m")
    url = f"{nginx.url}/big.bin"
    env = {"MODELCACHE_CONNECTIONS_PER_HOST": str(CONNECTIONS), "MODELCACHE_MIN_SEGMENT": "16MiB"}
    proc = mc.popen("pull", url, "--quiet", env=env)
    deadline = time.time() + 60
    part = None
    while time.time() < deadline:
        parts = list((mc.home / "tmp").glob("*.part")) if (mc.home / "tmp").exists() else []
        if parts and nginx.bytes_sent() > 0:
            part = parts[0]
        if part and sum(e["bytes"] for e in nginx.entries()) + _in_flight(part) > SIZE * 0.35:
            break
        time.sleep(0.1)
    assert proc.poll() is None, f"pull ended before the kill: {proc.communicate()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)  # nginx logs the aborted responses
    first_bytes = nginx.bytes_sent()
    assert 0 < first_bytes < SIZE

    # Nothing is visible yet, and what is visible is valid.
    assert not list(mc.home.glob("models/*/snapshots/*/big.bin"))
    assert_cache_valid(mc.home)

    log_before = len(nginx.entries())
    r = mc.run("pull", url, "--json", env=env, check=True, timeout=600)
    import json
    out = json.loads(r.stdout)
    second = sum(e["bytes"] for e in nginx.entries()[log_before:])
    missing = SIZE - first_bytes
    assert second <= missing + CONNECTIONS * SEGMENT_SLACK + (1 << 20), (
        f"resume fetched {second} bytes, {missing} were missing")
    assert second >= missing - CONNECTIONS * SEGMENT_SLACK
    assert out["bytes_downloaded"] == second
    assert sha256_file(Path(out["path"]) / "big.bin") == sha256_file(src)
    assert not list((mc.home / "tmp").glob("*.part")), "part file left after success"
    assert not list((mc.home / "tmp").glob("*.journal")), "journal left after success"
    assert_cache_valid(mc.home)


def _in_flight(part):
    try:
        return os.stat(part).st_blocks * 512
    except OSError:
        return 0
