"""Co-browse sessions, their participants and the approvals asked for during a session.

State and mode changes happen only in ``cobrowse.services``; these models hold data and the
transition map, nothing more (docs/architecture.md, "Session lifecycle" and "Control modes").
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class SessionKind(models.TextChoices):
    DOM = "dom", "Customer's own page"
    BROWSER = "browser", "Server-side browser"


class ControlMode(models.TextChoices):
    VIEW_ONLY = "view_only", "View only"
    GUIDED = "guided", "Guidance"
    CONTROLLED = "controlled", "Control (each step approved)"
    FULL = "full", "Full control"


#: Modes in ascending order of what they allow.
MODE_ORDER: tuple[str, ...] = (
    ControlMode.VIEW_ONLY,
    ControlMode.GUIDED,
    ControlMode.CONTROLLED,
    ControlMode.FULL,
)


def mode_rank(mode: str) -> int:
    return MODE_ORDER.index(mode)


class SessionState(models.TextChoices):
    INVITED = "invited", "Invited"
    CONSENTED = "consented", "Consented"
    ACTIVE = "active", "Active"
    RECONNECTING = "reconnecting", "Reconnecting"
    ENDED = "ended", "Ended"
    DENIED = "denied", "Denied"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"
    TIMED_OUT = "timed_out", "Timed out"


#: States in which a session still occupies its ticket (at most one per ticket).
LIVE_STATES: frozenset[str] = frozenset(
    {SessionState.INVITED, SessionState.CONSENTED, SessionState.ACTIVE, SessionState.RECONNECTING}
)
#: States after consent and before the end: the agent may see the page.
SHARING_STATES: frozenset[str] = frozenset(
    {SessionState.CONSENTED, SessionState.ACTIVE, SessionState.RECONNECTING}
)
TERMINAL_STATES: frozenset[str] = frozenset(
    {
        SessionState.ENDED,
        SessionState.DENIED,
        SessionState.EXPIRED,
        SessionState.REVOKED,
        SessionState.TIMED_OUT,
    }
)

_ENDINGS = frozenset({SessionState.ENDED, SessionState.REVOKED, SessionState.TIMED_OUT})

#: The only allowed state changes. Terminal states have no way out.
STATE_TRANSITIONS: dict[str, frozenset[str]] = {
    SessionState.INVITED: frozenset(
        {SessionState.CONSENTED, SessionState.DENIED, SessionState.EXPIRED, SessionState.ENDED}
    ),
    SessionState.CONSENTED: frozenset({SessionState.ACTIVE} | _ENDINGS),
    SessionState.ACTIVE: frozenset({SessionState.RECONNECTING} | _ENDINGS),
    SessionState.RECONNECTING: frozenset({SessionState.ACTIVE} | _ENDINGS),
    SessionState.ENDED: frozenset(),
    SessionState.DENIED: frozenset(),
    SessionState.EXPIRED: frozenset(),
    SessionState.REVOKED: frozenset(),
    SessionState.TIMED_OUT: frozenset(),
}


class Initiator(models.TextChoices):
    """Who asked for the session: the agent offered it, or the customer asked for it first."""

    AGENT = "agent", "Agent"
    CUSTOMER = "customer", "Customer"


class EndReason(models.TextChoices):
    AGENT_ENDED = "agent_ended", "The agent ended the session"
    CUSTOMER_REVOKED = "customer_revoked", "The customer stopped sharing"
    CUSTOMER_DENIED = "customer_denied", "The customer declined"
    INVITE_EXPIRED = "invite_expired", "The link expired before it was used"
    INACTIVITY = "inactivity", "No activity for too long"
    MAX_DURATION = "max_duration", "The maximum duration was reached"
    CANCELLED = "cancelled", "The invitation was withdrawn"
    BROWSER_FAILED = "browser_failed", "The server-side browser could not be started"
    BROWSER_LOST = "browser_lost", "The server-side browser stopped and could not be recovered"
    CALL_ENDED = "call_ended", "The phone call linked to the session ended"


class CoBrowseSession(models.Model):
    """One co-browse session on one ticket, from invitation to its end."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.PROTECT, related_name="cobrowse_sessions")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cobrowse_sessions_led"
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cobrowse_sessions_shared",
    )
    kind = models.CharField(max_length=10, choices=SessionKind.choices, default=SessionKind.DOM)
    state = models.CharField(max_length=15, choices=SessionState.choices, default=SessionState.INVITED)
    mode = models.CharField(max_length=12, choices=ControlMode.choices, default=ControlMode.VIEW_ONLY)
    granted_mode = models.CharField(
        max_length=12,
        choices=ControlMode.choices,
        blank=True,
        help_text="The highest mode the customer has consented to (empty before consent).",
    )
    recording = models.BooleanField(default=False, help_text="The customer consented to recording.")
    initiated_by = models.CharField(
        max_length=10,
        choices=Initiator.choices,
        default=Initiator.AGENT,
        help_text="Customer: the agent answered the customer's own request for a screen share.",
    )
    target_url = models.URLField(max_length=500, blank=True, help_text="Empty: the Tandem page itself.")
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    invite_expires_at = models.DateTimeField(null=True, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="First time the page connected.")
    last_activity_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(
        null=True, blank=True, help_text="Maximum duration, moved by each consented extension."
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(state__in=sorted(LIVE_STATES)),
                name="cobrowse_one_live_session_per_ticket",
            ),
        ]
        indexes = [
            models.Index(fields=["state"]),
            # The manager pages select a period's sessions by their first connection.
            models.Index(fields=["started_at"], name="cobrowse_started_at_idx"),
        ]

    def __str__(self) -> str:
        return f"co-browse #{self.pk} ({self.state})"

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def is_sharing(self) -> bool:
        return self.state in SHARING_STATES

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES


class ParticipantRole(models.TextChoices):
    AGENT = "agent", "Agent"
    VIEWER = "viewer", "Viewer"
    CUSTOMER = "customer", "Customer"
    TEAM = "team", "Member of the customer's team"


class Participant(models.Model):
    """Someone in a session. At most one participant holds control at a time."""

    session = models.ForeignKey(CoBrowseSession, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    role = models.CharField(max_length=10, choices=ParticipantRole.choices)
    team_viewer = models.ForeignKey(
        "TeamViewer", null=True, blank=True, on_delete=models.SET_NULL, related_name="participations"
    )
    joined_at = models.DateTimeField(auto_now_add=True)
    left_at = models.DateTimeField(null=True, blank=True)
    holds_control = models.BooleanField(default=False)

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(holds_control=True, left_at__isnull=True),
                name="cobrowse_one_controller_per_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} in session #{self.session_id}"


class ViewerInvitation(models.Model):
    """The session's agent (or a manager) asked a colleague to watch; they may then join as a viewer."""

    session = models.ForeignKey(CoBrowseSession, on_delete=models.CASCADE, related_name="viewer_invitations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="cobrowse_one_invitation_per_viewer")
        ]

    def __str__(self) -> str:
        return f"viewer {self.user_id} invited to session #{self.session_id}"


class TeamViewerState(models.TextChoices):
    INVITED = "invited", "Invited"
    OPENED = "opened", "Opened the link"
    ACCEPTED = "accepted", "Joined"
    DECLINED = "declined", "Declined"
    LEFT = "left", "Left"
    REMOVED = "removed", "Removed by the customer"
    ENDED = "ended", "Session over"


#: A team viewer in one of these may still (come to) watch.
TEAM_VIEWER_OPEN: frozenset[str] = frozenset(
    {TeamViewerState.INVITED, TeamViewerState.OPENED, TeamViewerState.ACCEPTED}
)


class TeamViewer(models.Model):
    """A member of the customer's team (not a Tandem user) whom the sharing customer lets watch.

    View only, always: they never hold control. Their one-time link and their grant live in
    ``consent`` (``TeamViewerInvite``, ``ViewerGrant``); both decisions (the customer's and their
    own) are consent records.
    """

    session = models.ForeignKey(CoBrowseSession, on_delete=models.CASCADE, related_name="team_viewers")
    name = models.CharField(max_length=100)
    email = models.EmailField()
    state = models.CharField(max_length=10, choices=TeamViewerState.choices, default=TeamViewerState.INVITED)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True, help_text="Joined or declined.")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Left, removed, or the session ended.")

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"team viewer #{self.pk} in session #{self.session_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in TEAM_VIEWER_OPEN


class ModeRequestState(models.TextChoices):
    PENDING_MANAGER = "pending_manager", "Waiting for a manager"
    PENDING_CUSTOMER = "pending_customer", "Waiting for the customer"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined by the customer"
    REJECTED = "rejected", "Declined by a manager"
    CANCELLED = "cancelled", "Cancelled"


MODE_REQUEST_OPEN = frozenset({ModeRequestState.PENDING_MANAGER, ModeRequestState.PENDING_CUSTOMER})


class ModeRequest(models.Model):
    """The agent asks for a higher mode; ``full`` goes to a manager before the customer sees it."""

    session = models.ForeignKey(CoBrowseSession, on_delete=models.CASCADE, related_name="mode_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_mode = models.CharField(max_length=12, choices=ControlMode.choices)
    to_mode = models.CharField(max_length=12, choices=ControlMode.choices)
    state = models.CharField(max_length=20, choices=ModeRequestState.choices)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    manager_decided_at = models.DateTimeField(null=True, blank=True)
    customer_decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(state__in=sorted(MODE_REQUEST_OPEN)),
                name="cobrowse_one_open_mode_request",
            ),
        ]

    def __str__(self) -> str:
        return f"mode request #{self.pk} {self.from_mode}->{self.to_mode} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in MODE_REQUEST_OPEN


class ExtensionRequestState(models.TextChoices):
    PENDING = "pending", "Waiting for the customer"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    CANCELLED = "cancelled", "Cancelled"


class ExtensionRequest(models.Model):
    """The agent asks for more time; the customer's yes is a new consent record."""

    session = models.ForeignKey(CoBrowseSession, on_delete=models.CASCADE, related_name="extension_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    seconds = models.PositiveIntegerField()
    state = models.CharField(
        max_length=10, choices=ExtensionRequestState.choices, default=ExtensionRequestState.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(state="pending"),
                name="cobrowse_one_open_extension_request",
            ),
        ]

    def __str__(self) -> str:
        return f"extension request #{self.pk} ({self.state})"


class ActionRequestState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    EXPIRED = "expired", "Expired"


class ActionRequest(models.Model):
    """One agent action in ``controlled`` mode, waiting for the customer's yes or no."""

    session = models.ForeignKey(CoBrowseSession, on_delete=models.CASCADE, related_name="action_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, help_text="click, type, autofill, select, navigate …")
    target = models.CharField(
        max_length=200, blank=True, help_text="A node reference (id or selector), never a field value."
    )
    state = models.CharField(
        max_length=10, choices=ActionRequestState.choices, default=ActionRequestState.REQUESTED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"action request #{self.pk} {self.action} ({self.state})"


# --- voice: a phone call alongside the session (cobrowse/services/voice.py, docs/voice.md) ---------


class VoiceCall(models.Model):
    """A telephony call linked to a session, as the integration reports it (start, end).

    ``call_id`` is the telephony system's own id, unique per session, so repeated events are
    idempotent. The session has an active call while one of its calls has no ``ended_at``.
    """

    session = models.ForeignKey(CoBrowseSession, on_delete=models.CASCADE, related_name="voice_calls")
    call_id = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "call_id"], name="cobrowse_voice_call_once_per_session"
            )
        ]

    def __str__(self) -> str:
        return f"voice call #{self.pk} in session #{self.session_id}"


class Speaker(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    AGENT = "agent", "Agent"


#: The longest utterance kept; a longer one is refused (400), never cut silently.
UTTERANCE_MAX_CHARS = 2000


class CallUtterance(models.Model):
    """One transcribed utterance of a session's call, identifiers masked before it is stored.

    Personal data: deleted by the daily retention pass ``VOICE_TRANSCRIPT_RETENTION_DAYS`` after
    the session ended (``cobrowse.services.voice.purge_transcripts``).
    """

    session = models.ForeignKey(CoBrowseSession, on_delete=models.CASCADE, related_name="utterances")
    speaker = models.CharField(max_length=10, choices=Speaker.choices)
    text = models.TextField(max_length=UTTERANCE_MAX_CHARS)
    spoken_at = models.DateTimeField()

    class Meta:
        ordering = ["spoken_at", "id"]
        # The assistant reads a session's latest utterances (cobrowse.assist.voice.call_state).
        indexes = [models.Index(fields=["session", "spoken_at"], name="cobrowse_utterance_time_idx")]

    def __str__(self) -> str:
        return f"utterance #{self.pk} in session #{self.session_id}"
