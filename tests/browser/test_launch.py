"""Launch and context options: the proxy is the only way out, and nothing re-opens loopback."""

from __future__ import annotations

import os

import pytest

from browser import launch
from browser.launch import (
    DISABLED_FEATURES_ARG,
    INIT_SCRIPT,
    PLAYWRIGHT_DISABLED_FEATURES,
    STEADY_CARET_SCRIPT,
    browser_launch_options,
    context_options,
    harden_context,
)


def test_launch_options_route_everything_through_the_proxy(settings):
    settings.BROWSER_EGRESS_PROXY_HOST = "127.0.0.1"
    options = browser_launch_options(8899)
    # No bypass at all: Playwright then proxies loopback and link-local too.
    assert options["proxy"] == {"server": "http://127.0.0.1:8899"}
    args = options["args"]
    assert "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" in args
    for flag in ("--disable-quic", "--disable-background-networking",
                 "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
                 "--webrtc-ip-handling-policy=disable_non_proxied_udp"):  # fmt: skip
        assert flag in args
    assert not any(a.startswith("--proxy-bypass-list") for a in args)


def test_the_backstop_excludes_only_the_proxy_host(settings):
    settings.BROWSER_EGRESS_PROXY_HOST = "127.77.0.1"
    options = browser_launch_options(9000)
    assert options["proxy"]["server"] == "http://127.77.0.1:9000"
    assert "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.77.0.1" in options["args"]


def test_refuses_when_playwright_is_told_to_bypass_loopback(monkeypatch):
    monkeypatch.setenv("PLAYWRIGHT_DISABLE_FORCED_CHROMIUM_PROXIED_LOOPBACK", "1")
    with pytest.raises(RuntimeError, match="loopback would bypass"):
        browser_launch_options(8899)


def test_context_options_block_service_workers_and_downloads():
    assert context_options() == {"service_workers": "block", "accept_downloads": False}
    assert "RTCPeerConnection" in INIT_SCRIPT and "WebTransport" in INIT_SCRIPT


async def test_hardening_installs_the_egress_script_and_the_steady_caret():
    class Context:
        scripts: list[str] = []

        async def add_init_script(self, script: str) -> None:
            self.scripts.append(script)

    context = Context()
    await harden_context(context)
    assert len(context.scripts) == 1  # one round trip per new context
    assert INIT_SCRIPT in context.scripts[0] and STEADY_CARET_SCRIPT in context.scripts[0]
    assert "caret-animation: manual" in STEADY_CARET_SCRIPT


def test_one_disabled_features_switch_with_playwrights_list_and_ours():
    args = browser_launch_options(8899)["args"]
    switches = [a for a in args if a.startswith("--disable-features=")]
    assert switches == [DISABLED_FEATURES_ARG]  # Chromium keeps only the last such switch
    features = DISABLED_FEATURES_ARG.split("=", 1)[1].split(",")
    assert set(PLAYWRIGHT_DISABLED_FEATURES) <= set(features)
    assert {"WebUIOmniboxPopup", "WebUIOmniboxAimPopup"} <= set(features)
    assert not any(a.startswith(("--single-process", "--renderer-process-limit")) for a in args)
    assert "site-per-process" not in DISABLED_FEATURES_ARG  # site isolation stays on


def test_the_sandbox_stays_on(settings):
    options = browser_launch_options(8899)
    assert options["chromium_sandbox"] is True  # Playwright adds --no-sandbox without it
    assert not any("sandbox" in a for a in options["args"])


def test_as_root_chromium_starts_through_the_user_switch_with_no_worker_environment(settings, monkeypatch):
    monkeypatch.setattr(launch, "_running_as_root", lambda: True)
    settings.BROWSER_RUN_AS_USER = "nobody"
    settings.BROWSER_EXECUTABLE_PATH = "/usr/bin/chromium"
    monkeypatch.setenv("DATABASE_URL", "postgres://secret@db/tandem")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    options = browser_launch_options(8899)
    assert options["executable_path"] == str(launch.RUN_AS_WRAPPER)
    assert launch.RUN_AS_WRAPPER.is_file() and os.access(launch.RUN_AS_WRAPPER, os.X_OK)
    assert options["env"] == {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "TANDEM_BROWSER_USER": "nobody",
        "TANDEM_BROWSER_EXECUTABLE": "/usr/bin/chromium",
    }


def test_not_root_chromium_starts_directly_with_a_short_environment(settings, monkeypatch):
    monkeypatch.setattr(launch, "_running_as_root", lambda: False)
    settings.BROWSER_EXECUTABLE_PATH = "/opt/chromium/chrome"
    settings.BROWSER_RUN_AS_USER = "tandem-no-such-user"  # not used: no switch without root
    for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "RECORDING_KEYS", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "secret")
    monkeypatch.setenv("HOME", "/home/dev")
    options = browser_launch_options(8899)
    assert options["executable_path"] == "/opt/chromium/chrome"
    assert options["env"]["HOME"] == "/home/dev"
    assert set(options["env"]) <= set(launch.BROWSER_ENV_KEEP)
    assert "secret" not in options["env"].values()


@pytest.mark.parametrize(
    ("user", "message"),
    [
        (
            "tandem-no-such-user",
            r"'tandem-no-such-user' \(BROWSER_RUN_AS_USER\) does not exist: .*ensure-browser-user",
        ),
        ("", "BROWSER_RUN_AS_USER is empty"),
        ("root", "is root"),
    ],
)
def test_as_root_an_unusable_browser_user_is_a_clear_error(settings, monkeypatch, user, message):
    monkeypatch.setattr(launch, "_running_as_root", lambda: True)
    settings.BROWSER_RUN_AS_USER = user
    with pytest.raises(launch.BrowserUserError, match=message):
        browser_launch_options(8899)
