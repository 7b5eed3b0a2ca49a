"""The ASGI application for servers that cannot limit whose X-Forwarded-* headers they trust.

uvicorn rewrites the client address and scheme from X-Forwarded-For/-Proto only for peers listed in
``FORWARDED_ALLOW_IPS``. daphne's ``--proxy-headers`` trusts every peer, so anyone who reaches it
directly could pick the address that rate limits and sign-in throttling count. daphne therefore runs
without ``--proxy-headers`` and serves this application: the same trust list, applied by uvicorn's own
middleware (plain ASGI, no uvicorn server involved), to HTTP and WebSocket scopes alike.
"""

import os

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from config.asgi import application as _application

# uvicorn's own variable and default, so both servers trust the same peers.
TRUSTED_PROXIES = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

application = ProxyHeadersMiddleware(_application, trusted_hosts=TRUSTED_PROXIES)
