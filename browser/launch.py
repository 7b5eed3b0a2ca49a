"""Playwright launch and context options that leave the egress proxy as Chromium's only way out.

Layers (docs/egress.md): every request goes to the proxy (Playwright adds ``<-loopback>`` to the
bypass list, so loopback and link-local are proxied too); ``--host-resolver-rules`` makes every
other host unresolvable, IP literals included, so nothing can connect anywhere but the proxy even
if a request escaped the proxy settings; WebRTC may not use UDP outside the proxy, and the init
script removes the WebRTC and WebTransport constructors from every page and frame.

Chromium runs with its sandbox on and never as root (docs/browser-sandbox.md): a root worker starts
it through ``scripts/chromium-as-browser-user.sh`` as ``BROWSER_RUN_AS_USER``, and in every case it
gets a short list of environment variables instead of the worker's (database URL, keys, secret key).
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

NO_NETWORK_NOISE_ARGS = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
# Chromium keeps only the last ``--disable-features`` switch (measured: a second one drops the
# first), and Playwright passes its own. So the switch added here repeats Playwright's list (as of
# Playwright 1.65; tests/browser/test_launch_features.py fails when Playwright's list grows)
# and adds ours.
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)
# Headless Chromium opens a browser window per context, and each window preloads the omnibox
# dropdown as a WebUI page in a renderer of its own: one extra renderer (~20 MiB) per session that
# nobody ever sees. Browser UI only: pages and their process isolation are untouched.
TANDEM_DISABLED_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup")
DISABLED_FEATURES = PLAYWRIGHT_DISABLED_FEATURES + TANDEM_DISABLED_FEATURES
DISABLED_FEATURES_ARG = "--disable-features=" + ",".join(DISABLED_FEATURES)

WEBRTC_ARGS = (
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
)

# Runs before any page script in every frame. Workers get no init script: there WebTransport
# still exists (it fails closed: QUIC is off and the resolver rules leave nothing to reach) and
# RTCPeerConnection does not exist in workers at all.
INIT_SCRIPT = """
(() => {
  for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel",
                      "RTCRtpSender", "RTCRtpReceiver", "RTCIceCandidate", "RTCSessionDescription",
                      "WebTransport"]) {
    try {
      Object.defineProperty(globalThis, name, {value: undefined, writable: false, configurable: false});
    } catch (e) {}
  }
})();
"""

# A steady caret instead of a blinking one. A blinking caret in a focused field repaints twice a
# second and each blink is a whole new JPEG for every viewer (~2 frames/s, ~75 KB/s on the demo
# site's form while nobody types); steady, a still page costs nothing. ``caret-animation`` is
# inherited, so fields in shadow trees keep a steady caret too; a page's own rule still wins.
STEADY_CARET_SCRIPT = """
(() => {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync("* { caret-animation: manual; }");
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  } catch (e) {}
})();
"""

_PLAYWRIGHT_LOOPBACK_ESCAPE = "PLAYWRIGHT_DISABLE_FORCED_CHROMIUM_PROXIED_LOOPBACK"

#: Started as root, switches to the browser user and clears the environment, then execs Chromium.
RUN_AS_WRAPPER = Path(__file__).resolve().parents[1] / "scripts" / "chromium-as-browser-user.sh"
#: All of the worker's environment that Chromium sees (Playwright passes the whole of it otherwise).
BROWSER_ENV_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
#: Under the wrapper Chromium gets its PATH and HOME from the wrapper, the rest from here.
WRAPPED_ENV_KEEP = ("LANG", "LC_ALL", "TZ")


class BrowserUserError(ImproperlyConfigured):
    """Chromium cannot be started sandboxed: the worker is root and the browser user is unusable."""


def _running_as_root() -> bool:
    return os.geteuid() == 0


def browser_user() -> pwd.struct_passwd | None:
    """The user Chromium runs as, when that is not this process's own: only when we are root.

    Chromium's sandbox refuses root, and ``--no-sandbox`` is not an option; not root, the sandbox
    works as we are and no switch is needed (nor possible).
    """
    if not _running_as_root():
        return None
    name = getattr(settings, "BROWSER_RUN_AS_USER", "tandem-browser")
    if not name:
        raise BrowserUserError(
            "the browser worker runs as root and BROWSER_RUN_AS_USER is empty: Chromium's sandbox "
            "refuses root, so name an unprivileged user (default tandem-browser)"
        )
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise BrowserUserError(
            f"browser user {name!r} (BROWSER_RUN_AS_USER) does not exist: create it as root with "
            "scripts/ensure-browser-user.sh"
        ) from None
    if entry.pw_uid == 0:
        raise BrowserUserError(f"BROWSER_RUN_AS_USER {name!r} is root: Chromium must run unprivileged")
    return entry


def browser_process_options() -> dict[str, Any]:
    """Which executable Playwright starts, as whom (through the wrapper) and with what environment."""
    user = browser_user()
    if user is None:
        return {
            "executable_path": settings.BROWSER_EXECUTABLE_PATH,
            "env": {k: os.environ[k] for k in BROWSER_ENV_KEEP if k in os.environ},
        }
    env = {k: os.environ[k] for k in WRAPPED_ENV_KEEP if k in os.environ}
    env.update(
        PATH="/usr/bin:/bin",
        TANDEM_BROWSER_USER=user.pw_name,
        TANDEM_BROWSER_EXECUTABLE=str(settings.BROWSER_EXECUTABLE_PATH),
    )
    return {"executable_path": str(RUN_AS_WRAPPER), "env": env}


def browser_launch_options(proxy_port: int, *, proxy_host: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``chromium.launch(...)`` that route everything through the proxy.

    No ``bypass`` on purpose: Playwright then adds ``<-loopback>``; a bypass naming a loopback
    host (or the environment switch below) would let loopback and link-local go direct.
    ``chromium_sandbox``: without it Playwright adds ``--no-sandbox`` by itself.
    """
    if os.environ.get(_PLAYWRIGHT_LOOPBACK_ESCAPE):
        raise RuntimeError(f"{_PLAYWRIGHT_LOOPBACK_ESCAPE} is set: loopback would bypass the egress proxy")
    host = proxy_host or settings.BROWSER_EGRESS_PROXY_HOST
    return {
        **browser_process_options(),
        "chromium_sandbox": True,
        "headless": True,
        "proxy": {"server": f"http://{host}:{int(proxy_port)}"},
        "args": [
            *NO_NETWORK_NOISE_ARGS,
            *WEBRTC_ARGS,
            DISABLED_FEATURES_ARG,
            f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {host}",
        ],
    }


def context_options() -> dict[str, Any]:
    """Keyword arguments for ``browser.new_context(...)``: no service workers, no downloads."""
    return {"service_workers": "block", "accept_downloads": False}


async def harden_context(context: Any) -> None:
    """Install the init scripts on a Playwright (async) browser context: the egress one, and the
    steady caret (a screencast matter, not a security one)."""
    await context.add_init_script(INIT_SCRIPT + STEADY_CARET_SCRIPT)
