"""The monthly report's PDF, printed by real Chromium started the browser worker's way: the command
writes it with no server or worker running, the page downloads it, the printed page reaches nothing
on the network, and beat's task mails it to the managers as an attachment."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from datetime import date

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client

from analytics import pdf, tasks
from tests.browser.test_launch_sandbox import browser_user, chromium_processes  # noqa: F401 - a fixture
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]


def _pages(document: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", document))


def _title(document: bytes) -> bytes:
    match = re.search(rb"/Title \(([^)]*)\)", document)
    return match.group(1) if match else b""


def test_the_command_writes_a_pdf(db, tmp_path):
    out = tmp_path / "october.pdf"
    call_command("cobrowse_report", "--month", "2026-10", "--output", str(out))
    document = out.read_bytes()
    assert document.startswith(b"%PDF-") and document.rstrip().endswith(b"%%EOF")
    assert _title(document) == b"Co-browse monthly report, October 2026"
    assert _pages(document) >= 2  # volume and charts, then the rest: the whole page, not a stub


def test_the_reports_chromium_is_the_workers_sandboxed_unprivileged_one(browser_user):  # noqa: F811
    """Read from /proc while it prints: the browser user's (or ours, not root), sandbox on."""
    seen: dict[tuple[int, str], tuple[str, ...]] = {}
    seccomp: set[int] = set()
    printing = threading.Event()

    def watch() -> None:
        while not printing.is_set():
            for proc in chromium_processes():
                if "chrom" not in os.path.basename(proc.program):
                    continue  # the launch wrapper, caught before it execs Chromium as the browser user
                seen[(proc.pid, proc.kind)] = (str(proc.uids[0]), " ".join(proc.argv))
                if proc.kind == "renderer":
                    seccomp.add(proc.seccomp)
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert pdf.render("<title>t</title><p>sandboxed</p>").startswith(b"%PDF-")
    finally:
        printing.set()
        watcher.join()
    expected = str(browser_user.pw_uid if browser_user else os.getuid())
    assert any(kind == "browser" for _, kind in seen), seen
    assert {uid for uid, _ in seen.values()} == {expected}, seen
    assert not any("--no-sandbox" in argv for _, argv in seen.values())
    assert 2 in seccomp  # page code ran under seccomp-bpf


def test_the_printed_page_reaches_nothing(db):
    """Images, styles, frames and fonts of the HTML are refused before they leave Chromium."""
    hits: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            hits.append(conn.recv(1024))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.getsockname()[1]}"
    html = (
        f'<html><head><title>probe</title><link rel="stylesheet" href="{origin}/s.css">'
        f"<style>@font-face {{ font-family: x; src: url({origin}/f.woff); }} p {{ font-family: x; }}</style>"
        f'</head><body><p>probe</p><img src="{origin}/i.png"><iframe src="{origin}/frame"></iframe>'
        f'<img src="https://example.com/i.png"></body></html>'
    )
    try:
        document = pdf.render(html)
    finally:
        stop.set()
        thread.join()
        server.close()
    assert document.startswith(b"%PDF-") and _title(document) == b"probe"
    assert hits == []


def test_managers_download_the_pdf(db, manager):
    client = Client()
    client.force_login(manager)
    response = client.get("/manager/report/", {"month": "2026-10", "format": "pdf"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="cobrowse-report-2026-10.pdf"'
    assert response.content.startswith(b"%PDF-")


def test_beat_mails_last_months_report_to_the_managers(db, manager, agent, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: date(2026, 11, 1))
    make_user("boss", role="manager")
    make_user("former", role="manager", is_active=False)
    make_user("nomail", role="manager", email="")
    assert tasks.email_monthly_report.apply().result == 2
    (message,) = mail.outbox
    assert message.subject == "Co-browse monthly report, October 2026"
    assert sorted(message.to) == ["boss@example.com", "manager@example.com"]
    assert "Sessions: 0" in message.body and "The full report is attached as a PDF." in message.body
    ((filename, content, mimetype),) = message.attachments
    assert (filename, mimetype) == ("cobrowse-report-2026-10.pdf", "application/pdf")
    assert content.startswith(b"%PDF-") and _title(content) == b"Co-browse monthly report, October 2026"
