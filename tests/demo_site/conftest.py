"""The demo site served from a background thread on a free port."""

from __future__ import annotations

import pytest

from demo_site.server import make_server, serve_in_thread

TANDEM_URL = "http://tandem.test:8123"


@pytest.fixture(scope="module")
def demo_url():
    server = make_server("127.0.0.1", 0, TANDEM_URL, quiet=True)
    thread = serve_in_thread(server)
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
