"""`modelcache serve`: a GET of a file that is not cached yet streams while the
pull fetches it (server/stream_body.hpp): first bytes long before the upstream
is done, the last byte only once the file is verified, a cut-short body when it
fails verification, and one upstream download for several clients at once."""
import hashlib
import http.client
import threading
import time
from pathlib import Path

import pytest

from conftest import assert_cache_valid
from test_serve import Daemon
from test_serve import slow_hub as serve_slow_hub

SIZE = 5 << 20  # at 1 MB/s from the CDN: about 5 s upstream


def slow_hub(tmp_path, fixture_factory, nginx_factory, seed, corrupt=False):
    """test_serve.slow_hub with SIZE bytes: (hub, its nginx, the true bytes)."""
    hub = serve_slow_hub(tmp_path, fixture_factory, nginx_factory, SIZE, seed, corrupt)
    return hub, hub.nginx, hub.weights.read_bytes()


def timed_get(daemon, path):
    """(status, Content-Length, body, seconds to the first body byte, seconds to the
    end, error): the body is read as it comes; a connection cut short is `error`."""
    start = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=60)
    c.request("GET", path)
    r = c.getresponse()
    length = int(r.getheader("Content-Length", "-1"))
    body = bytearray()
    first = None
    error = None
    try:
        while True:
            chunk = r.read1(1 << 16)
            if not chunk:
                break
            if first is None:
                first = time.monotonic() - start
            body += chunk
        if len(body) < length:
            error = "short"
    except (OSError, http.client.HTTPException) as e:
        error = repr(e)
    c.close()
    return r.status, length, bytes(body), first, time.monotonic() - start, error


@pytest.fixture
def daemon_for(mc, tmp_path):
    started = []

    def start(hub):
        d = Daemon(mc, hub.url, tmp_path / "serve.log")
        started.append(d)
        return d

    yield start
    for d in started:
        assert d.stop() == 0, Path(d.log_path).read_text()


def test_cold_get_streams_before_the_upstream_is_done(mc, tmp_path, fixture_factory, nginx_factory, daemon_for):
    hub, nginx, content = slow_hub(tmp_path, fixture_factory, nginx_factory, seed=71)
    d = daemon_for(hub)
    status, length, body, first, total, error = timed_get(d, "/org/big/resolve/main/weights.bin")
    assert status == 200 and error is None and length == SIZE
    assert hashlib.sha256(body).digest() == hashlib.sha256(content).digest()
    # The upstream needs ~5 s; the client had bytes long before that.
    assert total > 3, total
    assert first < total / 2, (first, total)
    # Streaming did not make the upstream send anything twice.
    assert nginx.bytes_sent() == SIZE
    # The pull goes on to publish the snapshot: the next GET is a warm one.
    deadline = time.time() + 10
    while time.time() < deadline and not list(mc.home.glob("models/*/snapshots/*/weights.bin")):
        time.sleep(0.05)
    r, again = d.request("GET", "/org/big/resolve/main/weights.bin")
    assert r.status == 200 and again == content
    assert nginx.bytes_sent() == SIZE
    assert_cache_valid(mc.home)


def test_corrupt_upstream_cuts_the_stream_short_and_publishes_nothing(mc, tmp_path, fixture_factory,
                                                                     nginx_factory, daemon_for):
    hub, nginx, content = slow_hub(tmp_path, fixture_factory, nginx_factory, seed=72, corrupt=True)
    d = daemon_for(hub)
    status, length, body, first, total, error = timed_get(d, "/org/big/resolve/main/weights.bin")
    # Bytes started to flow (it streamed), but the response never completed.
    assert status == 200 and length == SIZE and first is not None
    assert error is not None and len(body) < SIZE, (error, len(body))
    assert not list(mc.home.glob("models/*/snapshots/*/weights.bin"))
    assert not (mc.home / "blobs" / "sha256" / hashlib.sha256(content).hexdigest()[:2] /
                hashlib.sha256(content).hexdigest()).exists()
    # The daemon keeps serving: a small file of the same repo streams whole.
    status, length, body, _, _, error = timed_get(d, "/org/big/resolve/main/config.json")
    assert status == 200 and body == b"{}\n" and error is None
    assert_cache_valid(mc.home)


def test_four_clients_on_one_cold_file_share_one_download(mc, tmp_path, fixture_factory, nginx_factory,
                                                          daemon_for):
    hub, nginx, content = slow_hub(tmp_path, fixture_factory, nginx_factory, seed=73)
    d = daemon_for(hub)
    results = [None] * 4

    def client(i):
        results[i] = timed_get(d, "/org/big/resolve/main/weights.bin")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    want = hashlib.sha256(content).digest()
    for status, length, body, first, total, error in results:
        assert status == 200 and error is None and length == SIZE
        assert hashlib.sha256(body).digest() == want
        assert first < total / 2, (first, total)
    assert nginx.bytes_sent() == SIZE  # the upstream served each byte once
    assert_cache_valid(mc.home)
