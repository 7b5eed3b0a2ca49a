"""Consent records: the append-only account of what was asked, shown and answered.

What is kept about the answering client follows ``CONSENT_CLIENT_INFO`` (full / truncated / none).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from cobrowse.models import CoBrowseSession, ControlMode, TeamViewer
from consent.models import ConsentRecord, Decision, SessionInvite
from consent.prompts import PROMPT_VERSION, is_third_party

# --- client information on consent records -----------------------------------------------------


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None = None
    user_agent: str = ""


_UA_FAMILIES = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)


def user_agent_family(user_agent: str) -> str:
    if re.search(r"HeadlessChrome/", user_agent):
        return "Chrome"
    for marker, family in _UA_FAMILIES:
        if marker in user_agent:
            return family
    return "Other" if user_agent else ""


def truncate_ip(ip: str | None) -> str | None:
    """IPv4 to its /24, IPv6 to its /48; None for anything unparsable."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def stored_client_info(client: ClientInfo | None) -> tuple[str | None, str]:
    """Apply ``CONSENT_CLIENT_INFO`` (full / truncated / none)."""
    policy = settings.CONSENT_CLIENT_INFO
    if client is None or policy == "none":
        return None, ""
    if policy == "full":
        try:
            ip = str(ipaddress.ip_address(client.ip)) if client.ip else None
        except ValueError:
            ip = None
        return ip, client.user_agent[:300]
    return truncate_ip(client.ip), user_agent_family(client.user_agent)


def record_consent(
    session: CoBrowseSession,
    *,
    kind: str,
    decision: str,
    prompt_text: str,
    mode: str = "",
    recording: bool = False,
    invite: SessionInvite | None = None,
    customer: User | None = None,
    client: ClientInfo | None = None,
    extension_seconds: int = 0,
    team_viewer: TeamViewer | None = None,
    origin: str = "",
    decided_at: datetime | None = None,
    kept_client: tuple[str | None, str] | None = None,
) -> ConsentRecord:
    """Append one consent record. The flags spell out what ``mode`` means.

    ``decided_at`` and ``kept_client`` (client information already reduced by
    :func:`stored_client_info`) are for a decision made before its session existed: a help request
    the customer allowed on the page, recorded when an agent takes it.
    """
    from cobrowse.models import mode_rank
    from cobrowse.policy import origin_of

    granted = decision == Decision.GRANTED and bool(mode)
    rank = mode_rank(mode) if mode else -1
    third_party = is_third_party(session)
    ip, user_agent = kept_client if kept_client is not None else stored_client_info(client)
    return ConsentRecord.objects.create(
        session=session,
        invite=invite,
        customer=customer if getattr(customer, "is_authenticated", False) else None,
        team_viewer=team_viewer,
        kind=kind,
        decision=decision,
        mode=mode if granted else "",
        view=granted,
        guidance=granted and rank >= mode_rank(ControlMode.GUIDED),
        control=granted and rank >= mode_rank(ControlMode.CONTROLLED),
        full_control=granted and rank >= mode_rank(ControlMode.FULL),
        recording=granted and recording,
        third_party_site=granted and third_party,
        third_party_origin=origin_of(session.target_url) if third_party else "",
        extension_seconds=extension_seconds,
        origin=origin,
        prompt_text=prompt_text,
        prompt_version=PROMPT_VERSION,
        decided_at=decided_at or timezone.now(),
        client_ip=ip,
        user_agent=user_agent,
    )
