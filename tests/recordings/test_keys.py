"""RECORDING_KEYS parsing, and the development key refused outside DEBUG."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recordings.crypto import new_wrapped_key
from recordings.keys import (
    DEV_KEY_ENTRY,
    KeyRingError,
    check_recording_keys,
    generate_entry,
    load_keyring,
    parse_keyring,
)

ROOT = Path(__file__).resolve().parents[2]


def _entry(key_id: str, raw: bytes) -> str:
    return f"{key_id}:{base64.urlsafe_b64encode(raw).decode()}"


def test_first_key_is_active_and_all_keys_are_found():
    ring = parse_keyring([_entry("new", b"n" * 32), _entry("old", b"o" * 32)])
    assert ring.active.key_id == "new"
    assert ring.key_ids == ("new", "old")
    assert ring.get("old").secret == b"o" * 32
    assert ring.get("missing") is None


def test_comma_separated_string_and_unpadded_base64url_are_accepted():
    raw = bytes(range(200, 232))  # has bytes that base64url encodes as '-' and '_'
    unpadded = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    ring = parse_keyring(f"a:{unpadded}, {_entry('b', b'b' * 32)}")
    assert ring.get("a").secret == raw
    assert ring.key_ids == ("a", "b")


def test_generated_entry_round_trips_and_differs_each_time():
    first, second = generate_entry("k-2025.1"), generate_entry("k-2025.1")
    assert first != second
    assert len(parse_keyring([first]).active.secret) == 32


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([], "empty"),
        (["no-colon-here"], "has no ':'"),
        (["k1:"], "has no ':'"),
        ([_entry("k1", b"x" * 16)], "32 bytes, not 16"),
        ([_entry("k1", b"x" * 35)], "32 bytes, not 35"),
        (["k1:***not base64***"], "not valid base64url"),
        ([_entry("bad id", b"x" * 32)], "key id"),
        ([_entry("k1", b"x" * 32), _entry("k1", b"y" * 32)], "more than once: k1"),
    ],
)
def test_malformed_rings_are_refused_with_a_clear_message(entries, message):
    with pytest.raises(KeyRingError, match=message):
        parse_keyring(entries)


def test_errors_and_repr_never_show_the_secret():
    secret = base64.urlsafe_b64encode(b"s" * 31).decode()
    with pytest.raises(KeyRingError) as info:
        parse_keyring([f"k1:{secret}"])
    assert secret not in str(info.value)
    ring = parse_keyring([_entry("k1", b"s" * 32)])
    assert "sss" not in repr(ring)


def test_dev_key_is_refused_when_debug_is_off(settings):
    settings.DEBUG = False
    settings.RECORDING_KEYS = [generate_entry("prod-1"), DEV_KEY_ENTRY]
    with pytest.raises(KeyRingError, match="development key"):
        load_keyring()
    errors = check_recording_keys()
    assert [error.id for error in errors] == ["recordings.E001"]
    with pytest.raises(KeyRingError):
        new_wrapped_key("r1")  # no keyring passed: loaded from settings


def test_dev_key_is_accepted_in_debug_and_real_keys_without_it(settings):
    settings.DEBUG = True
    settings.RECORDING_KEYS = [DEV_KEY_ENTRY]
    assert load_keyring().active.is_dev_key
    settings.DEBUG = False
    settings.RECORDING_KEYS = [generate_entry("prod-1")]
    assert load_keyring().active.key_id == "prod-1"
    assert check_recording_keys() == []


_SETTINGS_PROBE = """
import importlib, json, os, sys
from recordings.keys import KeyRingError, parse_keyring, refuse_dev_key
results = []
for env in json.loads(sys.argv[1]):
    os.environ.pop("RECORDING_KEYS", None)
    os.environ.update(env)
    import config.settings as conf
    conf = importlib.reload(conf)
    try:
        refuse_dev_key(parse_keyring(conf.RECORDING_KEYS), debug=conf.DEBUG)
        results.append("ok")
    except KeyRingError:
        results.append("refused")
print(json.dumps(results))
"""


def test_settings_default_is_the_dev_key_and_production_refuses_it():
    """config/settings.py read from the environment: the default key only works with DEBUG on."""
    real_keys = f"{generate_entry('k2')},{generate_entry('k1')}"
    cases = [
        {"DJANGO_DEBUG": "true"},
        {"DJANGO_DEBUG": "false"},
        {"DJANGO_DEBUG": "false", "RECORDING_KEYS": real_keys},
        {"DJANGO_DEBUG": "false", "RECORDING_KEYS": f"{real_keys},{DEV_KEY_ENTRY}"},
    ]
    env = {k: v for k, v in os.environ.items() if k != "RECORDING_KEYS"}
    env["AUDIT_KEY"] = "test-audit-key-" + "0" * 32  # settings refuse DEBUG off without one
    result = subprocess.run(
        [sys.executable, "-c", _SETTINGS_PROBE, json.dumps(cases)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout) == ["ok", "refused", "ok", "refused"]
