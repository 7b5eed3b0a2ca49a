"""Shapes of tickets, comments and events on the REST API.

Serializers only parse and render; who may do what is decided by ``accounts.permissions`` and
the workflow by ``tickets.services``.
"""

from __future__ import annotations

from typing import Any, cast

from rest_framework import serializers

from accounts import names, permissions
from accounts.models import CustomerAccount, User
from tickets import api_fields
from tickets.models import (
    Category,
    Channel,
    EscalationLevel,
    Priority,
    Status,
    Team,
    Ticket,
    TicketComment,
    TicketEvent,
)


class UserSummarySerializer(serializers.ModelSerializer):
    """A person as the reader may see them (accounts/names.py): customers get a public name and no
    ``username``; support staff get display names and login names."""

    # Not read_only: the schema would then list it as always present. The serializer only renders
    # (it is nested read-only everywhere), so nothing can be written through it.
    username = serializers.CharField(
        required=False, help_text="Support staff readers only; never sent to customers."
    )
    display_name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "display_name"]
        read_only_fields = fields

    def get_display_name(self, user: User) -> str:
        return names.name_for(user, _request_user(self))

    def to_representation(self, instance: User) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not names.is_support_reader(_request_user(self)):
            data.pop("username", None)
        return data


class AccountSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerAccount
        fields = ["id", "name"]
        read_only_fields = fields


class TicketSerializer(serializers.ModelSerializer):
    """A ticket as rendered to any reader who may see it."""

    reference = serializers.CharField(read_only=True, help_text="Human reference, e.g. T-1042.")
    number = serializers.IntegerField(read_only=True, help_text="Numeric part of the reference.")
    requester = UserSummarySerializer(read_only=True)
    assignee = UserSummarySerializer(read_only=True, allow_null=True)
    account = AccountSummarySerializer(read_only=True, allow_null=True)
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="name", read_only=True, allow_null=True
    )

    class Meta:
        model = Ticket
        fields = [
            "reference",
            "number",
            "subject",
            "description",
            "status",
            "priority",
            "category",
            "channel",
            "requester",
            "assignee",
            "account",
            "escalation_level",
            "team",
            "created_at",
            "updated_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Ticket) -> dict[str, Any]:
        data = dict(super().to_representation(instance))
        if self.context.get("with_extras"):  # one ticket at a time: lists stay one query per page
            request = self.context.get("request")
            data.update(api_fields.extra_fields(instance, getattr(request, "user", None)))
        return data


def _request_user(serializer: serializers.Serializer) -> Any:
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class TicketCreateSerializer(serializers.Serializer):
    """Opening a ticket.

    Customers open tickets for themselves. Support staff open them on a customer's behalf by
    naming the ``requester`` and may also set triage fields (``priority``, ``channel``,
    ``assignee``).
    """

    #: Fields only someone who may work tickets can set when opening one.
    STAFF_FIELDS = ("priority", "channel", "assignee")

    subject = serializers.CharField(max_length=200)
    description = serializers.CharField()
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    requester = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        help_text="Customer the ticket is for (support staff only; defaults to the caller).",
    )
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True, help_text="Support staff only."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = _request_user(self)
        if user is not None and not permissions.is_support_staff(user):
            # A customer may only name themselves: other ids are simply unknown (no enumeration).
            # The copy of the field declared above. drf-stubs put Manager in the type of ``queryset``,
            # so mypy applies the manager's __get__ to the assignment; a QuerySet is what it takes.
            requester = cast("serializers.PrimaryKeyRelatedField[User]", self.fields["requester"])
            requester.queryset = User.objects.filter(pk=user.pk)  # type: ignore[arg-type]


class TicketUpdateSerializer(serializers.Serializer):
    """Changing a ticket's workflow fields (support staff only)."""

    FIELDS = ("status", "priority", "category", "assignee")

    status = serializers.ChoiceField(choices=Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="An agent or manager; null unassigns.",
    )


class EscalateSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=EscalationLevel.values)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class CommentSerializer(serializers.ModelSerializer):
    author = UserSummarySerializer(read_only=True)

    class Meta:
        model = TicketComment
        fields = ["id", "author", "body", "is_internal", "created_at"]
        read_only_fields = fields


class CommentCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)
    is_internal = serializers.BooleanField(
        required=False, default=False, help_text="Internal note, support staff only."
    )


class EventSerializer(serializers.ModelSerializer):
    actor = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = TicketEvent
        fields = ["id", "kind", "actor", "data", "internal", "created_at"]
        read_only_fields = fields


class InvalidTransitionErrorSerializer(serializers.Serializer):
    """Body of a 400 for a status change the workflow does not allow. Other invalid input has
    its field errors keyed by field name (``non_field_errors`` for a body that is not an object)."""

    status = serializers.ListField(child=serializers.CharField(), required=False)
    transition = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text='The refused change: {"from": current, "to": requested}.',
    )


class ErrorDetailSerializer(serializers.Serializer):
    detail = serializers.CharField()
