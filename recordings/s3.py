"""The ``STORAGES["recordings"]`` entry for an S3 bucket (or any S3-compatible API), built from settings.

Imported by ``config/settings.py`` before the apps load, so plain Python only: no models. Credentials
are not settings here: boto3 finds them the usual way (``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, a web identity or instance role).

The client gives up quickly (short connect timeout, few attempts) because every caller already
retries on its own terms: the capture writer keeps a failed chunk queued and tries again with backoff,
the retention purge runs again the next day. A long botocore retry would only hold a worker thread.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

S3_BACKEND = "storages.backends.s3.S3Storage"
SSE_MODES = ("", "AES256", "aws:kms")
ADDRESSING_STYLES = ("", "auto", "path", "virtual")


def s3_storage(
    *,
    bucket: str,
    endpoint_url: str = "",
    region: str = "",
    prefix: str = "",
    sse: str = "",
    kms_key_id: str = "",
    addressing_style: str = "",
    connect_timeout: float = 5.0,
    read_timeout: float = 20.0,
    max_attempts: int = 3,
) -> dict[str, Any]:
    """The entry for recording blobs in ``bucket``: objects ``<prefix>/recordings/<id>/<n>.bin``."""
    # boto3's own dependency (untyped); only needed when a bucket is set.
    from botocore.config import Config

    if not bucket:
        raise ImproperlyConfigured("RECORDINGS_S3_BUCKET is empty")
    if sse not in SSE_MODES:
        raise ImproperlyConfigured(f"RECORDINGS_S3_SSE must be one of {', '.join(map(repr, SSE_MODES))}")
    if kms_key_id and sse != "aws:kms":
        raise ImproperlyConfigured("RECORDINGS_S3_SSE_KMS_KEY_ID needs RECORDINGS_S3_SSE=aws:kms")
    if addressing_style not in ADDRESSING_STYLES:
        raise ImproperlyConfigured(
            f"RECORDINGS_S3_ADDRESSING_STYLE must be one of {', '.join(map(repr, ADDRESSING_STYLES[1:]))}"
        )
    if max_attempts < 1:
        raise ImproperlyConfigured("RECORDINGS_S3_MAX_ATTEMPTS must be at least 1")
    object_parameters: dict[str, str] = {}
    if sse:
        object_parameters["ServerSideEncryption"] = sse
    if kms_key_id:
        object_parameters["SSEKMSKeyId"] = kms_key_id
    return {
        "BACKEND": S3_BACKEND,
        "OPTIONS": {
            "bucket_name": bucket,
            "location": prefix.strip("/"),
            "endpoint_url": endpoint_url or None,
            "region_name": region or None,
            # No ACL header (buckets with ACLs disabled refuse one); the bucket policy keeps it private.
            "default_acl": None,
            # A chunk is written once: never silently replace an object (recordings/blobstore.py
            # notices the storage picking another name and reports the concurrent write).
            "file_overwrite": False,
            "object_parameters": object_parameters,
            # Blobs are never served by URL, so no signed URLs leak from here either way.
            "querystring_auth": True,
            # Used as is by django-storages (its addressing_style option is ignored then).
            "client_config": Config(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"mode": "standard", "max_attempts": max_attempts},
                signature_version="s3v4",
                s3={"addressing_style": addressing_style or "auto"},
            ),
        },
    }
