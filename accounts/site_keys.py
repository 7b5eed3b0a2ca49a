"""Site keys: who may ask for help from a customer's page (``Tandem.init({site, user})``).

The customer's backend signs each signed-in user's id with its site secret,
``hex(HMAC-SHA256(secret, user_id))``, and puts the signature in the page; the widget sends the
site, the id and the signature to ``POST /api/widget/identify/`` before it offers help, so nobody can
ask for help as someone else.

The server must compute the same HMAC, so the secrets are kept sealed, not hashed: AES-256-GCM
under a key derived (HKDF-SHA256, purpose ``tandem/site-key/v1``) from a master key of the
deployment's ``RECORDING_KEYS`` ring — the project's one place for data keys, kept in the
environment, never in the database (docs/recordings-crypto.md). Each sealed secret names its master
key, so prepending a new master key keeps every secret readable; ``manage.py reseal_site_keys``
re-seals them under the active key before an old one is dropped. Rotating a site's secret keeps the
previous one verifying, so pages deployed with it keep working until the next rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any, TypeGuard

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.client_ip import client_ip
from accounts.models import CustomerAccount, SiteKey
from audit import services as audit

logger = logging.getLogger(__name__)

SECRET_PREFIX = "tsk_"
_SEAL_VERSION = b"\x01"
_NONCE_BYTES = 12
_PURPOSE = b"tandem/site-key/v1"
SITE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
SIGNATURE_RE = re.compile(r"^[0-9a-fA-F]{64}$")
MAX_USER_ID = 256
#: A site id is a slug (``SiteKey.site``); anything else names no site and is never looked up
#: (PostgreSQL refuses a NUL in a query parameter with an error, not an empty answer).
SITE_RE = re.compile(r"[-a-zA-Z0-9_]{1,64}")


def is_site_id(site: object) -> TypeGuard[str]:
    return isinstance(site, str) and SITE_RE.fullmatch(site) is not None


def is_user_id(user_id: object) -> TypeGuard[str]:
    """1 to MAX_USER_ID characters without NUL (a user name or e-mail address never holds one)."""
    return isinstance(user_id, str) and 0 < len(user_id) <= MAX_USER_ID and "\x00" not in user_id


#: Identify calls per client address (``WIDGET_IDENTIFY_RATE_LIMIT``, "count/period").
DEFAULT_RATE = "30/m"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class SiteKeyError(Exception):
    """A sealed secret that no configured master key opens (the key was dropped, or the row altered)."""


# --- sealing ----------------------------------------------------------------------------------------


def _master_keys() -> list[tuple[str, bytes]]:
    """``RECORDING_KEYS`` as (key id, secret), active first. Its format and its refusal of the
    development key are checked by ``recordings.keys``; only what sealing needs is read here."""
    keys = []
    for entry in settings.RECORDING_KEYS:
        key_id, _, text = str(entry).strip().partition(":")
        try:
            secret = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
        except (binascii.Error, ValueError) as exc:
            raise ImproperlyConfigured(f"RECORDING_KEYS entry {key_id!r} is not base64url.") from exc
        keys.append((key_id, secret))
    if not keys:
        raise ImproperlyConfigured("RECORDING_KEYS is empty: site secrets cannot be sealed.")
    return keys


def _subkey(master: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(master)


def _aad(account_id: int) -> bytes:
    # Bound to its account: a sealed secret copied onto another account's row does not open.
    return _PURPOSE + b"/account/" + str(account_id).encode()


def seal(secret: str, account_id: int) -> bytes:
    key_id, master = _master_keys()[0]
    nonce = secrets.token_bytes(_NONCE_BYTES)
    header = _SEAL_VERSION + bytes([len(key_id)]) + key_id.encode()
    return header + nonce + AESGCM(_subkey(master)).encrypt(nonce, secret.encode(), _aad(account_id) + header)


def unseal(sealed: bytes | memoryview, account_id: int) -> str:
    sealed = bytes(sealed)
    if not sealed or sealed[:1] != _SEAL_VERSION or len(sealed) < 2:
        raise SiteKeyError("not a sealed site secret")
    end = 2 + sealed[1]
    key_id, header = sealed[2:end].decode(errors="replace"), sealed[:end]
    master = dict(_master_keys()).get(key_id)
    if master is None:
        raise SiteKeyError(f"sealed with master key {key_id!r}, which RECORDING_KEYS no longer lists")
    nonce, ciphertext = sealed[end : end + _NONCE_BYTES], sealed[end + _NONCE_BYTES :]
    try:
        return AESGCM(_subkey(master)).decrypt(nonce, ciphertext, _aad(account_id) + header).decode()
    except InvalidTag as exc:
        raise SiteKeyError("sealed site secret does not open") from exc


def sealed_key_id(sealed: bytes | memoryview | None) -> str:
    """The master key a sealed secret names ("" for none)."""
    sealed = bytes(sealed or b"")
    return sealed[2 : 2 + sealed[1]].decode(errors="replace") if len(sealed) > 1 else ""


# --- writes -----------------------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def validate_site(site: str) -> str:
    site = (site or "").strip().lower()
    if not SITE_RE.match(site):
        raise ValidationError(
            {"site": "3-64 lowercase letters, digits and hyphens, not starting or ending with one."}
        )
    return site


@dataclass(frozen=True)
class Issued:
    """A site key and its new secret in clear: shown once to whoever made it, then only sealed."""

    site_key: SiteKey
    secret: str


@transaction.atomic
def create_site_key(account: CustomerAccount, site: str, *, actor: Any = None) -> Issued:
    site = validate_site(site)
    if SiteKey.objects.filter(site=site).exists():
        raise ValidationError({"site": "This site id is taken."})
    if SiteKey.objects.filter(account=account).exists():
        raise ValidationError({"account": "This account has a site key already: rotate its secret instead."})
    secret = new_secret()
    key = SiteKey.objects.create(account=account, site=site, current_secret=seal(secret, account.pk))
    audit.record("accounts.site_key_created", actor=actor, obj=key, details={"account": account.pk})
    return Issued(key, secret)


@transaction.atomic
def rotate_site_key(site_key: SiteKey, *, actor: Any = None) -> Issued:
    """A new current secret; the old current one becomes the previous (the older one is dropped)."""
    key = SiteKey.objects.select_for_update().get(pk=site_key.pk)
    secret = new_secret()
    key.previous_secret = key.current_secret
    key.current_secret = seal(secret, key.account_id)
    key.rotated_at = timezone.now()
    key.save(update_fields=["previous_secret", "current_secret", "rotated_at"])
    audit.record("accounts.site_key_rotated", actor=actor, obj=key, details={"account": key.account_id})
    return Issued(key, secret)


def reseal_all() -> int:
    """Re-seal every secret under the active master key; returns how many rows changed."""
    active = _master_keys()[0][0]
    changed = 0
    for pk in SiteKey.objects.values_list("pk", flat=True):
        with transaction.atomic():
            key = SiteKey.objects.select_for_update().get(pk=pk)
            fields = []
            for name in ("current_secret", "previous_secret"):
                sealed = getattr(key, name)
                if sealed and sealed_key_id(sealed) != active:
                    setattr(key, name, seal(unseal(sealed, key.account_id), key.account_id))
                    fields.append(name)
            if fields:
                key.save(update_fields=fields)
                changed += 1
    return changed


# --- checks -----------------------------------------------------------------------------------------


class Malformed(ValueError):
    """The identify request is not {site, user_id, signature} of the right shapes."""


def parse_identify(data: Any) -> tuple[str, str, str]:
    if not isinstance(data, dict):
        raise Malformed("Send a JSON object {site, user_id, signature}.")
    site, user_id, signature = data.get("site"), data.get("user_id"), data.get("signature")
    unknown = sorted(set(data) - {"site", "user_id", "signature"})
    if unknown:
        raise Malformed(f"Unknown field(s): {', '.join(unknown)}.")
    if not is_site_id(site):
        raise Malformed("site: a site id (letters, digits, - and _) is required.")
    if not is_user_id(user_id):
        raise Malformed(f"user_id: a string of 1 to {MAX_USER_ID} characters is required.")
    if not isinstance(signature, str) or not SIGNATURE_RE.match(signature):
        raise Malformed("signature: the hex HMAC-SHA256 of user_id (64 hex digits) is required.")
    return site, user_id, signature.lower()


def expected_signature(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def verify(site_key: SiteKey, user_id: str, signature: str) -> bool:
    """True when ``signature`` is the user id's HMAC under the current or the previous secret.

    Both are always computed and compared in constant time, so the answer's timing says neither
    how much of the signature matched nor which secret did.
    """
    candidates = [site_key.current_secret, site_key.previous_secret or site_key.current_secret]
    matches = []
    for sealed in candidates:
        try:
            secret = unseal(sealed, site_key.account_id)
        except SiteKeyError as exc:
            # A secret whose master key was dropped verifies nothing (the site must rotate); the
            # request is refused like a bad signature, never answered with a 500.
            logger.warning("site key %s: %s", site_key.site, exc)
            secret = secrets.token_urlsafe(32)
        matches.append(hmac.compare_digest(expected_signature(secret, user_id), signature))
    return any(matches)


def allow_identify(request: HttpRequest) -> bool:
    """Count one identify call per client address (hashed); False once over the limit."""
    rate = getattr(settings, "WIDGET_IDENTIFY_RATE_LIMIT", DEFAULT_RATE)
    count_text, _, period = rate.partition("/")
    limit, seconds = int(count_text), _PERIODS[(period or "m")[0].lower()]
    digest = hashlib.sha256(client_ip(request).encode()).hexdigest()[:32]
    key = f"ratelimit:widget-identify:{digest}"
    cache.add(key, 0, timeout=seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds)
        count = 1
    return count <= limit


def retry_after_seconds() -> int:
    rate = getattr(settings, "WIDGET_IDENTIFY_RATE_LIMIT", DEFAULT_RATE)
    return _PERIODS[(rate.partition("/")[2] or "m")[0].lower()]
