"""Recording master keys: parse ``settings.RECORDING_KEYS`` into a key ring.

Format (docs/recordings-crypto.md): a list of ``"<key_id>:<base64url of 32 random bytes>"``. The first
entry is the active key that wraps new data keys; every entry can unwrap. Rotation prepends a new key,
re-wraps the data keys (``crypto.rewrap``) and drops the old key once nothing is wrapped by it.

The development default is a published key. It is refused whenever ``DEBUG`` is off, both when the key
ring is loaded and by the ``check_recording_keys`` system check.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32
KEY_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# The published development key (config/settings.py default). Never valid with DEBUG off.
DEV_KEY_ID = "dev-insecure"
DEV_KEY_SECRET = b"tandem-DEVELOPMENT-ONLY-key-0000"
DEV_KEY_ENTRY = f"{DEV_KEY_ID}:{base64.urlsafe_b64encode(DEV_KEY_SECRET).decode().rstrip('=')}"


class KeyRingError(ImproperlyConfigured):
    """RECORDING_KEYS is missing, malformed or not allowed in this environment."""


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    secret: bytes = field(repr=False)

    @property
    def is_dev_key(self) -> bool:
        return hmac.compare_digest(self.secret, DEV_KEY_SECRET)


@dataclass(frozen=True)
class KeyRing:
    """Ordered master keys: ``active`` (the first) wraps, any of them unwraps."""

    keys: tuple[MasterKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyRingError("RECORDING_KEYS is empty: at least one master key is required.")
        ids = [key.key_id for key in self.keys]
        duplicates = sorted({key_id for key_id in ids if ids.count(key_id) > 1})
        if duplicates:
            raise KeyRingError(f"RECORDING_KEYS lists key id(s) more than once: {', '.join(duplicates)}.")

    @property
    def active(self) -> MasterKey:
        return self.keys[0]

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(key.key_id for key in self.keys)

    def get(self, key_id: str) -> MasterKey | None:
        for key in self.keys:
            if key.key_id == key_id:
                return key
        return None


def _decode_secret(key_id: str, text: str) -> bytes:
    text = text.strip()
    try:
        secret = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise KeyRingError(f"RECORDING_KEYS entry {key_id!r}: the key is not valid base64url.") from exc
    if len(secret) != KEY_BYTES:
        raise KeyRingError(
            f"RECORDING_KEYS entry {key_id!r}: the key must decode to {KEY_BYTES} bytes, not {len(secret)}."
        )
    return secret


def parse_entry(entry: str) -> MasterKey:
    """Parse one ``key_id:base64url`` entry (errors name the key id, never the secret)."""
    key_id, sep, encoded = entry.strip().partition(":")
    key_id = key_id.strip()
    if not sep or not encoded.strip():
        raise KeyRingError(
            "RECORDING_KEYS entries look like 'key_id:base64url(32 bytes)'; "
            f"an entry starting {key_id[:16]!r} has no ':'."
        )
    if not KEY_ID_RE.match(key_id):
        raise KeyRingError(
            f"RECORDING_KEYS key id {key_id[:70]!r} is invalid: use 1-64 letters, digits, '.', '_' or '-'."
        )
    return MasterKey(key_id, _decode_secret(key_id, encoded))


def parse_keyring(entries: str | Iterable[str]) -> KeyRing:
    """Build a key ring from a list of entries (or one comma-separated string)."""
    if isinstance(entries, str):
        entries = entries.split(",")
    return KeyRing(tuple(parse_entry(entry) for entry in entries if entry.strip()))


def refuse_dev_key(keyring: KeyRing, *, debug: bool) -> None:
    """Outside DEBUG the published development key must not wrap or unwrap anything."""
    if not debug and any(key.is_dev_key for key in keyring.keys):
        raise KeyRingError(
            "RECORDING_KEYS contains the published development key while DEBUG is off. "
            'Generate a real key with `python -c "from recordings.keys import generate_entry; '
            "print(generate_entry('k1'))\"` and set RECORDING_KEYS."
        )


def load_keyring() -> KeyRing:
    """The key ring from settings, refusing the development key when DEBUG is off."""
    keyring = parse_keyring(getattr(settings, "RECORDING_KEYS", ()) or ())
    refuse_dev_key(keyring, debug=settings.DEBUG)
    return keyring


def generate_entry(key_id: str) -> str:
    """A new ``key_id:base64url`` entry from the OS random generator (for operators)."""
    if not KEY_ID_RE.match(key_id):
        raise ValueError(f"invalid key id {key_id!r}")
    return f"{key_id}:{base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode().rstrip('=')}"


@checks.register(checks.Tags.security)
def check_recording_keys(app_configs: Sequence | None = None, **kwargs: object) -> list[checks.CheckMessage]:
    """System check: RECORDING_KEYS parses, and holds no development key when DEBUG is off."""
    try:
        load_keyring()
    except KeyRingError as exc:
        return [checks.Error(str(exc), id="recordings.E001")]
    return []
