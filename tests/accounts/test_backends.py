"""Login throttling's backend accepts a missing request: Client.login() and scripts keep working,
while a login over HTTP is still throttled.

django-axes needs its app installed (its models load with its backend), so this runs in a separate
process with tests/accounts/axes_settings.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = """
import json
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0, run_syncdb=True)
from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendRequestParameterRequired
from django.contrib.auth import authenticate
from django.test import Client
from accounts.models import User

user = User.objects.create_user(username="agent9", password="pw-123456", role="agent")
out = {}
client = Client()
out["client_login"] = client.login(username="agent9", password="pw-123456")
out["script_authenticate"] = authenticate(username="agent9", password="pw-123456") == user
try:
    AxesStandaloneBackend().authenticate(None, username="agent9", password="pw-123456")
    out["stock_backend"] = "accepted"
except AxesBackendRequestParameterRequired:
    out["stock_backend"] = "refused"
web = Client()
statuses = [web.post("/login/", {"username": "agent9", "password": "wrong"}).status_code for _ in range(2)]
locked = web.post("/login/", {"username": "agent9", "password": "pw-123456"})
out["http_failures"] = statuses
out["http_after_lockout"] = [locked.status_code, "_auth_user_id" in web.session]
print("RESULT " + json.dumps(out))
"""


def test_client_login_works_and_http_logins_stay_throttled():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.accounts.axes_settings",
        "DJANGO_ALLOWED_HOSTS": "testserver",
    }
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line, result.stderr[-3000:]
    out = json.loads(line.removeprefix("RESULT "))
    assert out["client_login"] is True
    assert out["script_authenticate"] is True
    assert out["stock_backend"] == "refused"  # why the subclass exists
    assert out["http_failures"] == [200, 429]  # the second failure reaches the limit (2)
    assert out["http_after_lockout"] == [429, False]  # the right password no longer logs in
