"""ASGI entry point: HTTP through Django, WebSockets through Channels (see config/routing.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)


def _freeze_startup_objects() -> None:
    """Move everything the process built at start-up out of the garbage collector's view.

    Full (generation 2) collections walk every tracked object; with Django, Channels and their
    imports that is over 100,000 objects that live as long as the process, and each
    walk stalled the event loop for 35 to 100 ms — the whole p99 of the relay at 200 sessions
    (docs/benchmarks-relay.md). Frozen objects are never scanned again; garbage made later is
    collected as usual. The URLconf is loaded first so that it is part of what is frozen.
    """
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - loaded for its side effect
    gc.collect()
    gc.freeze()


def _log_gc_pauses(threshold_ms: float) -> None:
    """Diagnostics (``WEB_GC_PAUSE_LOG_MS``): log every collection that stalls longer than this."""
    import gc
    import logging
    import time

    logger = logging.getLogger("config.gc")
    started = [0.0]

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        pause_ms = (time.perf_counter() - started[0]) * 1000
        if pause_ms >= threshold_ms:
            logger.warning("gc pause generation=%s ms=%.1f", info["generation"], pause_ms)

    gc.callbacks.append(callback)


_freeze_startup_objects()
if os.environ.get("WEB_GC_PAUSE_LOG_MS"):
    _log_gc_pauses(float(os.environ["WEB_GC_PAUSE_LOG_MS"]))
