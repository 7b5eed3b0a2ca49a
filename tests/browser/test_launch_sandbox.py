"""Chromium as the worker starts it: sandbox on, never root, none of the worker's secrets.

Read from ``/proc`` of the real processes, not from the options we build: the command line Chromium
was given (Playwright adds ``--no-sandbox`` by itself unless told otherwise), the owner of every
Chromium process, the sandbox the renderers actually run in, and the environment each one holds.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from browser import launch
from browser.worker import BrowserHost

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
ENSURE_USER = ROOT / "scripts" / "ensure-browser-user.sh"
IS_ROOT = os.geteuid() == 0
SENTINEL = "tandem-sentinel-7f3a9c"


@dataclass
class Proc:
    pid: int
    argv: list[str]
    uids: list[int]
    seccomp: int
    user_ns: str
    environ: bytes

    @property
    def kind(self) -> str:
        """Chromium's children rewrite their command line into one string: read it as words."""
        for word in " ".join(self.argv).split():
            if word.startswith("--type="):
                return word.split("=", 1)[1]
        return "browser"

    @property
    def program(self) -> str:
        return " ".join(self.argv).split()[0]


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    return children


def _read(pid: int) -> Proc | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
        with open(f"/proc/{pid}/status") as fh:
            status = dict(line.split(":", 1) for line in fh.read().splitlines() if ":" in line)
        with open(f"/proc/{pid}/environ", "rb") as fh:
            environ = fh.read()
        user_ns = os.readlink(f"/proc/{pid}/ns/user")
    except OSError:
        return None
    uids = [int(u) for u in status["Uid"].split()]
    return Proc(pid, argv, uids, int(status["Seccomp"].strip()), user_ns, environ)


def chromium_processes(*, driver: bool = False) -> list[Proc]:
    """Every process below this test's Playwright driver: the browser and all it started (and the
    driver itself with ``driver=True``)."""
    children = _children()
    found: list[Proc] = []
    todo = [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            proc = _read(child)
            if proc is not None and proc.argv and (driver or not proc.program.endswith("/node")):
                found.append(proc)
    return found


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary directory the browser user can reach (pytest's own is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="tandem-sandbox-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def browser_user() -> pwd.struct_passwd | None:
    """The user Chromium must run as: the browser user under root (created if missing), else us."""
    if not IS_ROOT:
        return None
    subprocess.run([str(ENSURE_USER)], check=True, capture_output=True)
    return pwd.getpwnam(settings.BROWSER_RUN_AS_USER)


async def test_the_workers_chromium_is_sandboxed_unprivileged_and_holds_no_secrets(browser_user, monkeypatch):
    monkeypatch.setenv("DJANGO_SECRET_KEY", SENTINEL)  # the driver inherits this; Chromium must not
    monkeypatch.setenv("TANDEM_EXTRA_SECRET", SENTINEL)
    secrets = {SENTINEL, settings.SECRET_KEY, *(k.split(":", 1)[-1] for k in settings.RECORDING_KEYS)}
    secrets |= {os.environ[k] for k in ("DATABASE_URL", "REDIS_URL") if os.environ.get(k)}
    secret_names = ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "RECORDING_KEYS", "TANDEM_EXTRA_SECRET")
    expected_uid = browser_user.pw_uid if browser_user else os.getuid()

    async with BrowserHost(max_contexts=2) as host:
        context = await host.new_context(viewport={"width": 800, "height": 600})
        page = await context.new_page()
        await page.set_content("<p>sandboxed</p>")
        assert await page.text_content("p") == "sandboxed"
        procs = chromium_processes()
        driver_environ = b"".join(
            p.environ for p in chromium_processes(driver=True) if p.program.endswith("/node")
        )
        await context.close()

    browser = [p for p in procs if p.kind == "browser" and "chrom" in p.program]
    assert len(browser) == 1, [p.argv[:1] for p in procs]
    browser_proc = browser[0]
    assert "--no-sandbox" not in browser_proc.argv
    assert not any(a.startswith("--disable-setuid-sandbox") or a == "--no-zygote" for a in browser_proc.argv)

    # Nobody in Chromium's process tree is root, or anyone but the expected user.
    assert {uid for p in procs for uid in p.uids} == {expected_uid}, [(p.kind, p.uids) for p in procs]

    # The sandbox is engaged, not merely not disabled: page code runs under seccomp-bpf (2) in a
    # user namespace of its own.
    renderers = [p for p in procs if p.kind == "renderer"]
    assert renderers
    for renderer in renderers:
        assert renderer.seccomp == 2
        assert renderer.user_ns != browser_proc.user_ns

    for proc in procs:
        for secret in secrets:
            assert secret.encode() not in proc.environ, (proc.kind, "holds a secret value")
        names = {entry.split(b"=", 1)[0].decode(errors="replace") for entry in proc.environ.split(b"\0")}
        assert not names & set(secret_names), (proc.kind, names & set(secret_names))

    assert SENTINEL.encode() in driver_environ  # control: the worker side does hold it


async def test_the_profile_belongs_to_the_browser_user_and_is_written(browser_user):
    from playwright.async_api import async_playwright

    from browser.egress_proxy import EgressProxy

    expected_uid = browser_user.pw_uid if browser_user else os.getuid()
    async with EgressProxy() as proxy, async_playwright() as pw:
        browser = await pw.chromium.launch(**launch.browser_launch_options(proxy.port))
        try:
            context = await browser.new_context(**launch.context_options())
            await (await context.new_page()).set_content("<p>x</p>")
            browser_proc = next(
                p for p in chromium_processes() if p.kind == "browser" and "chrom" in p.program
            )
            arg = next(a for a in browser_proc.argv if a.startswith("--user-data-dir="))
            profile = Path(arg.split("=", 1)[1])
            assert profile.stat().st_uid == expected_uid
            assert oct(profile.stat().st_mode & 0o777) == oct(0o700)
            written = list(profile.iterdir())
            assert written and all(p.lstat().st_uid == expected_uid for p in written)
        finally:
            await browser.close()


@pytest.mark.skipif(not IS_ROOT, reason="the user switch only happens under root")
def test_a_missing_browser_user_stops_the_launch_with_the_fix(settings):
    settings.BROWSER_RUN_AS_USER = "tandem-no-such-user"
    with pytest.raises(launch.BrowserUserError, match=r"does not exist: .*ensure-browser-user\.sh"):
        launch.browser_launch_options(9)


@pytest.mark.skipif(not IS_ROOT, reason="the wrapper is started by root only")
def test_the_wrapper_refuses_a_missing_user_a_root_user_and_a_foreign_profile(tmp_path, browser_user):
    wrapper = str(launch.RUN_AS_WRAPPER)
    base = {"PATH": "/usr/bin:/bin", "TANDEM_BROWSER_EXECUTABLE": settings.BROWSER_EXECUTABLE_PATH}

    def run(user: str, *args: str) -> subprocess.CompletedProcess:
        env = {**base, "TANDEM_BROWSER_USER": user}
        return subprocess.run([wrapper, *args], env=env, capture_output=True, text=True, timeout=30)

    missing = run("tandem-no-such-user", "--version")
    assert missing.returncode == 70 and "does not exist" in missing.stderr
    as_root = run("root", "--version")
    assert as_root.returncode == 70 and "root" in as_root.stderr

    link = tmp_path / "profile-link"
    link.symlink_to(tmp_path)
    refused = run(browser_user.pw_name, f"--user-data-dir={link}", "--version")
    assert refused.returncode == 70 and "profile directory" in refused.stderr
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    os.chown(foreign, browser_user.pw_uid, browser_user.pw_gid)
    assert run(browser_user.pw_name, f"--user-data-dir={foreign}", "--version").returncode == 70

    ok = run(browser_user.pw_name, "--version")
    assert ok.returncode == 0 and "Chromium" in ok.stdout


@pytest.mark.skipif(not IS_ROOT, reason="creating users and changing owners needs root")
def test_the_setup_script_creates_the_user_and_hides_the_projects_secrets(shared_tmp, browser_user):
    project = shared_tmp / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy2(ENSURE_USER, project / "scripts" / ENSURE_USER.name)
    secrets = [project / ".env", project / "db.sqlite3", project / "var" / "media" / "blob"]
    for path in secrets:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(SENTINEL)
        path.chmod(0o644)
    (project / "var").chmod(0o755)
    (project / "var" / "media").chmod(0o755)
    project.chmod(0o755)

    def read_as_browser_user(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["setpriv", f"--reuid={browser_user.pw_uid}", f"--regid={browser_user.pw_gid}", "--init-groups",
             "cat", str(path)],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip

    assert read_as_browser_user(secrets[0]).stdout == SENTINEL  # control: readable before

    subprocess.run([str(project / "scripts" / ENSURE_USER.name)], check=True, capture_output=True)

    assert pwd.getpwnam(settings.BROWSER_RUN_AS_USER).pw_uid == browser_user.pw_uid
    for path in secrets:
        result = read_as_browser_user(path)
        assert result.returncode != 0 and SENTINEL not in result.stdout, path.name
        assert path.read_text() == SENTINEL  # the owner still can


@pytest.mark.skipif(not IS_ROOT, reason="needs root to start a process as another user")
def test_not_root_chromium_runs_sandboxed_as_that_user_without_a_switch(shared_tmp, browser_user):
    """A developer's own account: the same launch options, no wrapper, the sandbox still on."""
    probe = shared_tmp / "probe.py"
    probe.write_text(_NOT_ROOT_PROBE)
    probe.chmod(0o644)
    access = subprocess.run(
        ["setpriv", f"--reuid={browser_user.pw_uid}", f"--regid={browser_user.pw_gid}", "--init-groups",
         sys.executable, "-c", "import cobrowse, playwright"],
        cwd=ROOT, capture_output=True, timeout=30,
    )  # fmt: skip
    if access.returncode != 0:
        pytest.skip("the checkout or its virtualenv is not readable by the browser user")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": browser_user.pw_dir,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_SECRET_KEY": SENTINEL,
        "AUDIT_KEY": SENTINEL * 2,  # at least 32 characters
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        ["setpriv", f"--reuid={browser_user.pw_uid}", f"--regid={browser_user.pw_gid}", "--init-groups",
         sys.executable, str(probe)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert lines["executable"] == settings.BROWSER_EXECUTABLE_PATH  # no wrapper when not root
    assert lines["no_sandbox"] == "False"
    assert lines["uids"] == str(browser_user.pw_uid)
    assert lines["renderer_seccomp"] == "2"
    assert lines["secret_seen"] == "False"


_NOT_ROOT_PROBE = f"""
import asyncio, os, sys
import django
django.setup()
sys.path.insert(0, os.path.dirname(os.path.abspath({str(Path(__file__))!r})))
from playwright.async_api import async_playwright
from browser.egress_proxy import EgressProxy
from browser.launch import browser_launch_options
from test_launch_sandbox import chromium_processes

async def main():
    async with EgressProxy() as proxy, async_playwright() as pw:
        options = browser_launch_options(proxy.port)
        browser = await pw.chromium.launch(**options)
        page = await (await browser.new_context()).new_page()
        await page.set_content("<p>x</p>")
        procs = chromium_processes()
        await browser.close()
    main_proc = next(p for p in procs if p.kind == "browser" and "chrom" in p.program)
    print("executable=" + options["executable_path"])
    print("no_sandbox=" + str("--no-sandbox" in main_proc.argv))
    print("uids=" + ",".join(sorted({{str(u) for p in procs for u in p.uids}})))
    print("renderer_seccomp=" + ",".join(sorted({{str(p.seccomp) for p in procs if p.kind == "renderer"}})))
    print("secret_seen=" + str(any({SENTINEL!r}.encode() in p.environ for p in procs)))

asyncio.run(main())
"""
