"""Tickets, their conversation and their activity."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


#: Statuses whose work is done; every other status is "active" (the queue's default view).
DONE_STATUSES: tuple[str, ...] = (Status.RESOLVED, Status.CLOSED)
ACTIVE_STATUSES: tuple[str, ...] = tuple(s for s in Status.values if s not in DONE_STATUSES)

#: The active set as the queue filters it (``exclude(status__in=DONE_STATUSES)``): the partial
#: indexes below carry this exact predicate, so that PostgreSQL can match the query to them.
ACTIVE = ~models.Q(status__in=DONE_STATUSES)


#: Allowed status changes. ``closed`` is final; a resolved ticket may be reopened.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.OPEN: frozenset({Status.PENDING, Status.RESOLVED, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.RESOLVED, Status.CLOSED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Category(models.TextChoices):
    ACCOUNT_CONFIGURATION = "account_configuration", "Account configuration"
    INTEGRATION_SETUP = "integration_setup", "Integration setup"
    DEBUGGING_ERRORS = "debugging_errors", "Debugging error messages"
    PRODUCT_ONBOARDING = "product_onboarding", "Product onboarding"
    SSO_AUTHENTICATION = "sso_authentication", "SSO / authentication"
    REPORT_CONFIGURATION = "report_configuration", "Report / dashboard configuration"
    BILLING = "billing", "Billing / subscription"
    OTHER = "other", "Other"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    PHONE = "phone", "Phone"
    WEB = "web", "Web"
    IN_APP = "in_app", "In-app"


class EscalationLevel(models.TextChoices):
    """Where a ticket is worked: the front line, or a level it was escalated to."""

    L1 = "L1", "Front line (L1)"
    L2 = "L2", "Level 2"
    L3 = "L3", "Level 3"


class Team(models.Model):
    """A group of support staff a ticket can be escalated to (billing, identity, integrations...)."""

    name = models.CharField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TicketCounter(models.Model):
    """Single-row counter handing out ticket numbers under a row lock (portable, gap-free)."""

    name = models.CharField(max_length=20, primary_key=True)
    last_number = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.name}: {self.last_number}"


class QueueCount(models.Model):
    """How many tickets have one status and one assignee: the queue's navigation figures (active,
    mine, unassigned) read a few of these rows instead of counting the tickets table.

    Kept by ``tickets.counts`` in the transaction of every change of a ticket's status or assignee;
    ``manage.py rebuild_desk_indexes`` recomputes them from the tickets. ``assignee_key`` is the
    assignee's id, 0 for unassigned (a NULL would not be unique), and no foreign key: deleting a
    user folds their rows into the unassigned ones (``tickets.counts.assignee_deleted``).
    """

    status = models.CharField(max_length=10, choices=Status.choices)
    assignee_key = models.PositiveBigIntegerField(default=0)
    tickets = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["status", "assignee_key"], name="queue_count_one_row_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.status}/{self.assignee_key or 'unassigned'}: {self.tickets}"


class Ticket(models.Model):
    number = models.PositiveIntegerField(unique=True, editable=False)
    subject = models.CharField(max_length=200)
    description = models.TextField()
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="requested_tickets",
        db_index=False,  # led by the requester indexes in Meta
    )
    account = models.ForeignKey(
        "accounts.CustomerAccount",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
        db_index=False,  # led by the (assignee, status) index in Meta
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    category = models.CharField(max_length=30, choices=Category.choices, default=Category.OTHER)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    screen_share_requested_at = models.DateTimeField(null=True, blank=True)
    satisfaction_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="When the requester was asked how the ticket was handled."
    )
    escalation_level = models.CharField(
        max_length=2, choices=EscalationLevel.choices, default=EscalationLevel.L1
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        db_index=False,  # led by the (team, status) index in Meta
    )

    class Meta:
        ordering = ["-created_at"]
        # Each index is written on every insert and, since ``updated_at`` changes with every save,
        # on every update: each one below names the list it serves. The partial ones hold only the
        # active tickets (a few percent of the table), so they stay small and cheap to write.
        indexes = [
            # Queue filtered by a status (its page count too: ``status = ...``).
            models.Index(fields=["status", "priority"]),
            # Queue "mine" with any status; the assignee's foreign key (SET_NULL on user delete).
            models.Index(fields=["assignee", "status"]),
            # Queue filtered by level / team, and the count of those pages; the team's foreign key.
            models.Index(fields=["escalation_level", "status"]),
            models.Index(fields=["team", "status"]),
            # Queue, default view (active, newest change first) and its page count; its status,
            # priority, category, level and team filters walk it too.
            models.Index(fields=["-updated_at", "-id"], condition=ACTIVE, name="ticket_active_updated_idx"),
            # Queue "mine" (active): the navigation's second link and its page count.
            models.Index(
                fields=["assignee", "-updated_at", "-id"], condition=ACTIVE, name="ticket_mine_active_idx"
            ),
            # Queue "unassigned" (active): the navigation's third link and its page count.
            models.Index(
                fields=["-updated_at", "-id"],
                condition=ACTIVE & models.Q(assignee__isnull=True),
                name="ticket_unassigned_active_idx",
            ),
            # Queue with any status, or a done one (resolved, closed); analytics' "changed since".
            models.Index(fields=["-updated_at", "-id"], name="ticket_updated_idx"),
            # API list for support staff (newest first).
            models.Index(fields=["-created_at", "-number"], name="ticket_created_idx"),
            # API list for a customer; the ticket page's "other tickets from this requester"; the
            # requester's foreign key (PROTECT on user delete).
            models.Index(fields=["requester", "-created_at", "-number"], name="ticket_requester_created_idx"),
            # Portal: the customer's own tickets, last changed first.
            models.Index(fields=["requester", "-updated_at", "-id"], name="ticket_requester_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject}"

    @property
    def reference(self) -> str:
        return f"T-{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status not in DONE_STATUSES


class TicketComment(models.Model):
    """A public reply (the customer sees it) or an internal note (support staff only)."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="comments", db_index=False
    )  # led by the thread index in Meta
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ticket_comments"
    )
    body = models.TextField()
    is_internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        # A ticket's thread in order (ticket page, portal, API), without a sort; the foreign key.
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="ticket_comment_thread_idx")]

    def __str__(self) -> str:
        kind = "note" if self.is_internal else "reply"
        return f"{self.ticket.reference} {kind} by {self.author}"


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    STATUS = "status", "Status changed"
    ASSIGNMENT = "assignment", "Assignee changed"
    PRIORITY = "priority", "Priority changed"
    CATEGORY = "category", "Category changed"
    COMMENT = "comment", "Replied"
    NOTE = "note", "Internal note"
    SCREEN_SHARE_REQUESTED = "screen_share_requested", "Screen share requested"
    COBROWSE = "cobrowse", "Co-browse"
    ESCALATION = "escalation", "Escalated"
    HELP_REQUESTED = "help_requested", "Asked for help from the page"


class TicketEvent(models.Model):
    """Append-only activity of a ticket. ``data`` holds codes and ids, never free-form PII."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", db_index=False
    )  # led by the activity index in Meta
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    data = models.JSONField(default=dict, blank=True)
    internal = models.BooleanField(default=False, help_text="Shown to support staff only.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        # A ticket's activity in order (ticket page, portal history, API), without a sort.
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="ticket_event_thread_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Ticket events are append-only.")
        super().save(*args, **kwargs)


class SatisfactionAnswer(models.Model):
    """The requester's one answer about how their ticket was handled: 1 to 5 stars and a comment.

    Asked once, when the ticket is first resolved, unless another survey already asked about the
    same help (a co-browse session's: ``tickets.satisfaction.skip_when``)."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="satisfaction")
    stars = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stars__gte=1, stars__lte=5), name="satisfaction_stars_1_to_5"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.stars}★"
