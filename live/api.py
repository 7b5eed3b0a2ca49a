"""Co-browse REST API. Thin: authenticate, authorize (accounts.permissions), call a service.

Customer-side endpoints accept either the logged-in customer (session cookie, CSRF enforced) or
the session grant in the ``X-Tandem-Grant`` header (no cookie, so no CSRF).
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import api_errors, api_schema, permissions
from accounts.http import signed_in_user
from cobrowse import services
from cobrowse.models import CoBrowseSession, ControlMode, EndReason, ModeRequest, SessionKind
from consent import answers, invitations
from consent import grants as consent_grants
from consent.models import DeliveryChannel
from consent.views import client_info
from tickets import selectors as ticket_selectors

GRANT_HEADER = "HTTP_X_TANDEM_GRANT"


class GrantAuthentication(BaseAuthentication):
    """``X-Tandem-Grant: <grant>``: the customer's page in a live session, without a login."""

    def authenticate(self, request: Request):
        raw = request.META.get(GRANT_HEADER)
        if not raw:
            return None
        try:
            session = consent_grants.verify_grant(raw)
        except consent_grants.GrantError as exc:
            raise AuthenticationFailed(str(exc)) from exc
        return AnonymousUser(), session

    def authenticate_header(self, request: Request) -> str:
        return "X-Tandem-Grant"


class EndedGrantAuthentication(GrantAuthentication):
    """For Stop sharing only: also the tab grant that the session's end revoked (see
    ``consent.grants.verify_grant_or_ended``), so a second Stop confirms the end instead of 401."""

    def authenticate(self, request: Request):
        raw = request.META.get(GRANT_HEADER)
        if not raw:
            return None
        try:
            session = consent_grants.verify_grant_or_ended(raw)
        except consent_grants.GrantError as exc:
            raise AuthenticationFailed(str(exc)) from exc
        return AnonymousUser(), session


class SessionSerializer(serializers.ModelSerializer):
    ticket = serializers.CharField(source="ticket.reference", read_only=True)
    #: Empty while the session has not ended (the model's field is blank, so the schema says so).
    end_reason = serializers.ChoiceField(choices=EndReason.choices, allow_blank=True, read_only=True)

    class Meta:
        model = CoBrowseSession
        fields = [
            "id",
            "ticket",
            "kind",
            "state",
            "mode",
            "granted_mode",
            "recording",
            "target_url",
            "end_reason",
            "created_at",
            "invite_expires_at",
            "consented_at",
            "deadline_at",
            "ended_at",
        ]
        read_only_fields = fields


class StartedSerializer(SessionSerializer):
    """The schema of a started session (``_started_data`` builds the body)."""

    join_url = serializers.CharField(
        read_only=True,
        help_text="The customer's link, for the copy channel only; empty when it was sent to the customer.",
    )
    link_notice = serializers.CharField(read_only=True, help_text="What to tell the agent about the link.")

    class Meta(SessionSerializer.Meta):
        fields = [*SessionSerializer.Meta.fields, "join_url", "link_notice"]
        read_only_fields = fields


def _started_data(started: invitations.StartedSession) -> dict:
    """The session, with the link only where staff may see it (the copy channel)."""
    data = dict(SessionSerializer(started.session).data)
    data.update(join_url=started.join_url, link_notice=started.notice)
    return data


class StartSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=DeliveryChannel.choices, default=DeliveryChannel.COPY)
    target_url = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    kind = serializers.ChoiceField(choices=SessionKind.choices, default=SessionKind.DOM)


class ResendSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=DeliveryChannel.choices, default=DeliveryChannel.COPY)


@extend_schema_serializer(component_name="ModeChange")
class ModeSerializer(serializers.Serializer):
    """The body asking for a mode. Its own component name: as a request it was "ModeRequest", the
    name of the mode request's answer, and the schema documented one with the other's fields."""

    mode = serializers.ChoiceField(choices=ControlMode.choices)


class AnswerSerializer(serializers.Serializer):
    accept = serializers.BooleanField()


class ModeRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModeRequest
        fields = ["id", "session", "from_mode", "to_mode", "state", "created_at"]
        read_only_fields = fields


def _staff_session(request: Request, pk: int) -> CoBrowseSession:
    session = CoBrowseSession.objects.select_related("ticket").filter(pk=pk).first()
    if session is None or not permissions.can_view_cobrowse_session(request.user, session):
        raise NotFound("No such co-browse session.")
    return session


def _customer_session(request: Request, pk: int) -> CoBrowseSession:
    """By grant (must be this session's) or as the logged-in customer of the session."""
    if isinstance(request.auth, CoBrowseSession):
        if request.auth.pk != pk:
            raise NotFound("No such co-browse session.")
        return request.auth
    session = CoBrowseSession.objects.select_related("ticket").filter(pk=pk).first()
    if session is None or not permissions.is_cobrowse_customer(request.user, session):
        raise NotFound("No such co-browse session.")
    return session


def _customer(request: Request):
    return request.user if request.user.is_authenticated else None


class StaffView(APIView):
    permission_classes = [IsAuthenticated]


class CustomerView(APIView):
    authentication_classes = [GrantAuthentication, SessionAuthentication, TokenAuthentication]
    permission_classes = [AllowAny]


class TicketCoBrowseView(StaffView):
    @extend_schema(request=StartSerializer, responses={201: StartedSerializer})
    def post(self, request: Request, number: str) -> Response:
        """Start a co-browse session on a ticket: its assignee or a manager (L2+, certified L1).

        An agent starting on an unassigned ticket is assigned to it in the same action."""
        ticket = ticket_selectors.ticket_or_404(signed_in_user(request), number)
        if not permissions.can_start_cobrowse(request.user, ticket):
            raise DRFPermissionDenied(permissions.cobrowse_start_refusal(request.user, ticket))
        data = StartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        started = invitations.start_session(ticket, agent=signed_in_user(request), **data.validated_data)
        return Response(_started_data(started), status=status.HTTP_201_CREATED)


class SessionDetailView(StaffView):
    authentication_classes = CustomerView.authentication_classes
    permission_classes = [AllowAny]

    @extend_schema(responses=SessionSerializer)
    def get(self, request: Request, pk: int) -> Response:
        if isinstance(request.auth, CoBrowseSession) or not permissions.is_support_staff(request.user):
            session = _customer_session(request, pk)
        else:
            session = _staff_session(request, pk)
        return Response(SessionSerializer(services.refresh_state(session)).data)


class RevokeView(CustomerView):
    authentication_classes = [EndedGrantAuthentication, SessionAuthentication, TokenAuthentication]

    @extend_schema(request=None, responses=SessionSerializer)
    def post(self, request: Request, pk: int) -> Response:
        """Stop sharing: ends the session at once. Idempotent: on an ended session it confirms the
        end (200, ``already_ended``), so the page's revoke after the socket's stop is not an error."""
        session = _customer_session(request, pk)
        already = services.refresh_state(session).is_terminal
        session = answers.revoke_session(session, customer=_customer(request), client=client_info(request))
        body = dict(SessionSerializer(session).data)
        if already or session.end_reason != EndReason.CUSTOMER_REVOKED:
            body.update(already_ended=True, detail="The session has already ended.")
        return Response(body)


class EndView(StaffView):
    @extend_schema(request=None, responses=SessionSerializer)
    def post(self, request: Request, pk: int) -> Response:
        session = services.end_session(_staff_session(request, pk), actor=signed_in_user(request))
        return Response(SessionSerializer(session).data)


class ResendView(StaffView):
    @extend_schema(request=ResendSerializer, responses=StartedSerializer)
    def post(self, request: Request, pk: int) -> Response:
        data = ResendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        started = invitations.resend_invite(
            _staff_session(request, pk), actor=signed_in_user(request), channel=data.validated_data["channel"]
        )
        return Response(_started_data(started))


class ModeView(StaffView):
    @extend_schema(request=ModeSerializer, responses={200: SessionSerializer, 202: ModeRequestSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Lower the mode at once, or ask for a higher one (202 with the pending request)."""
        data = ModeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.request_mode(
            _staff_session(request, pk), actor=signed_in_user(request), mode=data.validated_data["mode"]
        )
        if isinstance(result, ModeRequest):
            return Response(ModeRequestSerializer(result).data, status=status.HTTP_202_ACCEPTED)
        return Response(SessionSerializer(result).data)


class ExtendView(StaffView):
    @extend_schema(request=None, responses={202: None})
    def post(self, request: Request, pk: int) -> Response:
        extension = services.request_extension(_staff_session(request, pk), actor=signed_in_user(request))
        return Response({"id": extension.pk, "state": extension.state}, status=status.HTTP_202_ACCEPTED)


class ViewerInviteSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class ViewersView(StaffView):
    @extend_schema(request=ViewerInviteSerializer, responses={201: None})
    def post(self, request: Request, pk: int) -> Response:
        """Invite a colleague to watch the session (at most three people watch at once)."""
        from accounts.models import User

        session = _staff_session(request, pk)
        data = ViewerInviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.filter(username=data.validated_data["username"], is_active=True).first()
        if user is None:
            return Response({"username": ["No such user."]}, status=status.HTTP_400_BAD_REQUEST)
        invitation = services.invite_viewer(session, actor=signed_in_user(request), user=user)
        return Response(
            {"session": session.pk, "viewer": user.username, "console": f"/agent/sessions/{session.pk}/"},
            status=status.HTTP_201_CREATED if invitation else status.HTTP_200_OK,
        )


class ApprovalView(StaffView):
    approve = True

    @extend_schema(request=None, responses=ModeRequestSerializer)
    def post(self, request: Request, pk: int) -> Response:
        """Managers only: approve or decline a full-control request."""
        if not permissions.can_approve_full_control(request.user):
            raise PermissionDenied("Only managers approve full control.")
        if not ModeRequest.objects.filter(pk=pk).exists():
            raise NotFound("No such request.")
        result = services.decide_full_control(pk, manager=signed_in_user(request), approve=self.approve)
        return Response(ModeRequestSerializer(result).data)


class CustomerLowerModeView(CustomerView):
    @extend_schema(request=ModeSerializer, responses=SessionSerializer)
    def post(self, request: Request, pk: int) -> Response:
        """The customer lowers the control mode (from the widget's badge, with the grant)."""
        session = _customer_session(request, pk)
        data = ModeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        session = answers.customer_lower_mode(
            session,
            mode=data.validated_data["mode"],
            customer=_customer(request),
            client=client_info(request),
        )
        return Response(SessionSerializer(session).data)


class ModeAnswerView(CustomerView):
    @extend_schema(request=AnswerSerializer, responses=ModeRequestSerializer)
    def post(self, request: Request, pk: int) -> Response:
        """The customer accepts or declines a mode request."""
        mode_request = ModeRequest.objects.filter(pk=pk).first()
        if mode_request is None:
            raise NotFound("No such request.")
        _customer_session(request, mode_request.session_id)
        data = AnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = answers.respond_to_mode_request(
            mode_request,
            accept=data.validated_data["accept"],
            customer=_customer(request),
            client=client_info(request),
        )
        return Response(ModeRequestSerializer(result).data)


class GrantRefreshView(CustomerView):
    authentication_classes = [GrantAuthentication]

    @extend_schema(request=None, responses={200: None, 401: api_schema.error("No valid tab grant")})
    def post(self, request: Request) -> Response:
        """Push the grant's expiry out while the session is live."""
        if not isinstance(request.auth, CoBrowseSession):
            raise AuthenticationFailed("Send the grant in X-Tandem-Grant.")
        grant = consent_grants.refresh_grant(request.META[GRANT_HEADER])
        return Response({"session": request.auth.pk, "expires_at": grant.expires_at})


# --- the page's owner confirms on the page (link grants) ------------------------------------------


class DeviceConfirmSerializer(serializers.Serializer):
    allow = serializers.BooleanField()


def _link_grant_call(request: Request, action) -> Response:
    """Describe or confirm with any current grant of a live session, from an allowed page origin.

    The grant (header) and the browser-set ``Origin`` are all these calls read: nothing of the
    page's content, address or title. A server-side browser session's card is on Tandem's own
    viewer page, so ``action`` also gets the origin this request was addressed to.
    """
    raw = request.META.get(GRANT_HEADER, "")
    if not raw:
        return Response({"detail": "Send the grant in X-Tandem-Grant."}, status=status.HTTP_401_UNAUTHORIZED)
    own_origin = f"{request.scheme}://{request.get_host()}"
    return action(raw, request.headers.get("Origin", ""), own_origin)


# How this API's own refusals read (accounts.api_errors renders everything else).
@api_errors.translate(consent_grants.GrantError)
def _grant_refused(exc: consent_grants.GrantError) -> api_errors.Refused:
    return api_errors.Refused(str(exc), "grant", status.HTTP_401_UNAUTHORIZED)


@api_errors.translate(consent_grants.PageOriginRefused)
def _origin_refused(exc: consent_grants.PageOriginRefused) -> api_errors.Refused:
    return api_errors.Refused(str(exc), "origin", status.HTTP_403_FORBIDDEN)


@api_errors.translate(services.OwnFullControlRequest)
def _own_request(exc: services.OwnFullControlRequest) -> api_errors.Refused:
    return api_errors.Refused(str(exc), "own_request", status.HTTP_403_FORBIDDEN)


#: The answers of the calls a link grant may make (``_link_grant_call``).
LINK_GRANT_REFUSALS = {
    200: None,
    401: api_schema.error("No grant, or one that is not current"),
    403: api_schema.error("A page origin the session's account does not list"),
}


class GrantDescribeView(APIView):
    # The grant header is the only credential (no cookie, so no CSRF); not GrantAuthentication,
    # which admits tab grants only.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses=LINK_GRANT_REFUSALS)
    def post(self, request: Request) -> Response:
        """What the grant asks for, in the consent screen's words, for the page's own card."""

        def describe(raw: str, origin: str, own_origin: str) -> Response:
            asked = consent_grants.describe_grant(raw, origin=origin, own_origin=own_origin)
            return Response(asked.as_dict())

        return _link_grant_call(request, describe)


class GrantConfirmView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=DeviceConfirmSerializer,
        responses={**LINK_GRANT_REFUSALS, 400: api_schema.INVALID},
    )
    def post(self, request: Request) -> Response:
        """The page's owner allowed (a tab grant is returned) or denied (the session ends)."""
        data = DeviceConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        allow = data.validated_data["allow"]

        def confirm(raw: str, origin: str, own_origin: str) -> Response:
            decision = consent_grants.confirm_grant(
                raw, allow=allow, origin=origin, client=client_info(request), own_origin=own_origin
            )
            body = {"session": decision.session.pk, "state": decision.session.state}
            if decision.grant:
                body.update(grant=decision.grant, expires_at=decision.expires_at)
            return Response(body)

        return _link_grant_call(request, confirm)
