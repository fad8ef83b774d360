"""A full disk is a clear one-line error, and the cache still verifies clean."""
import os
import subprocess

import pytest

from conftest import Modelcache, assert_cache_valid, write_random


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"this test needs root to mount a 24 MiB tmpfs: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)])


def test_full_disk_is_a_clear_error_and_cache_stays_valid(small_fs, nginx_factory, tmp_path):
    data = tmp_path / "www"
    write_random(data / "small.bin", 1 << 20, seed=21)
    write_random(data / "huge.bin", 64 << 20, seed=22)
    nginx = nginx_factory(data)
    mc = Modelcache(small_fs / "cache")
    ok = mc.run("pull", f"{nginx.url}/small.bin", check=True)
    r = mc.run("pull", f"{nginx.url}/huge.bin", env={"MODELCACHE_MIN_SEGMENT": "4MiB"})
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    # Either the up-front space check or ENOSPC from a write: both must say so.
    assert "no space" in lines[0].lower() or "free" in lines[0].lower(), lines[0]
    assert "MODELCACHE_HOME" in lines[0], "the error says what to do"
    assert not list(mc.home.glob("models/*/snapshots/*/huge.bin"))
    # What was there before is intact and still served.
    assert mc.run("path", f"{nginx.url}/small.bin", check=True).last_line == ok.last_line
    assert_cache_valid(mc.home)
