"""Recording pages: the list, the replay page and its events, highlights, customer copies, requests.

Thin: authorize (accounts.permissions through recordings.selectors), call a service, render. A
recording the user may not watch is indistinguishable from one that does not exist (404). Every
fetch of recording content is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import decorators, permissions
from accounts.http import AuthenticatedHttpRequest
from accounts.models import User
from accounts.redirects import safe_next
from cobrowse.models import ControlMode, EndReason
from recordings import openings, selectors, services
from recordings.models import Highlight, Recording, RecordingAccessRequest

View = Callable[..., HttpResponseBase]


#: Recording URLs never say whether a recording exists to someone who is not support staff.
staff_only = decorators.staff_only(hide=("pk", "No such recording."))


def manager_only(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not permissions.is_manager(request.user):
            if "pk" in kwargs and not permissions.is_support_staff(request.user):
                raise Http404("No such recording.")
            return render(
                request, "recordings/message.html", _msg("Managers only", "Ask a manager."), status=403
            )
        return view(request, *args, **kwargs)

    return wrapper


def customers_only(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not (request.user.is_active and request.user.is_customer):
            raise Http404("No such page.")
        return view(request, *args, **kwargs)

    return wrapper


def _msg(title: str, text: str) -> dict:
    return {"title": title, "text": text}


def _staff_recording(request: AuthenticatedHttpRequest, pk: int) -> Recording:
    try:
        return selectors.get_visible_recording(request.user, pk)
    except Recording.DoesNotExist:
        raise Http404("No such recording.") from None


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# --- staff: list and replay ------------------------------------------------------------------


@require_GET
@staff_only
def recording_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    qs = selectors.filter_recordings(selectors.visible_recordings(request.user), request.GET)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    agents = User.objects.filter(pk__in=selectors.visible_recordings(request.user).values("session__agent"))
    context = {
        "page": page,
        "filters": request.GET,
        "agents": agents.order_by("first_name", "username"),
        "modes": ControlMode.choices,
        "outcomes": [*EndReason.choices, ("incomplete", "Incomplete"), ("deleted", "Deleted")],
        "is_manager": permissions.is_manager(request.user),
        "pending_requests": selectors.pending_access_requests().count()
        if permissions.is_manager(request.user)
        else 0,
        "nav": "recordings",
    }
    return render(request, "recordings/list.html", context)


def _replay_config(
    recording: Recording,
    events_url: str,
    *,
    index_url: str,
    chunk_url: str,
    timeline: list,
    highlights: list,
    focus: Highlight | None,
) -> dict:
    return {
        "recording": recording.pk,
        "kind": recording.kind,
        "eventsUrl": events_url,
        "indexUrl": index_url,
        # The chunk number goes in place of the trailing "0/" (see frontend/replay/chunks.js).
        "chunkUrl": chunk_url,
        "durationMs": recording.duration_ms,
        "startedAtMs": int(recording.started_at.timestamp() * 1000),
        "complete": recording.complete,
        "open": recording.is_open,
        "timeline": [
            {"offset": item.offset_ms, "kind": item.kind, "label": item.label, "actor": item.actor}
            for item in timeline
        ],
        "highlights": [
            {"id": h.pk, "start": h.start_ms, "end": h.end_ms, "title": h.title, "tags": h.tags}
            for h in highlights
        ],
        "focus": {"start": focus.start_ms, "end": focus.end_ms, "title": focus.title} if focus else None,
    }


@require_GET
@staff_only
def recording_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    recording = _staff_recording(request, pk)
    highlights = list(recording.highlights.select_related("created_by"))
    focus = None
    if request.GET.get("highlight", "").isdigit():
        focus = next((h for h in highlights if h.pk == int(request.GET["highlight"])), None)
    config = _replay_config(
        recording,
        reverse("recordings:events", args=[recording.pk]),
        index_url=reverse("recordings:index", args=[recording.pk]),
        chunk_url=reverse("recordings:chunk", args=[recording.pk, 0]),
        timeline=selectors.session_timeline(recording),
        highlights=highlights,
        focus=focus,
    )
    context = {
        "recording": recording,
        "session": recording.session,
        "highlights": highlights,
        "accesses": selectors.recording_accesses(recording)[:50],
        "config": config,
        "is_manager": permissions.is_manager(request.user),
        "customer_view": False,
        "nav": "recordings",
    }
    return render(request, "recordings/replay.html", context)


def _stream(recording: Recording, *, download: bool) -> HttpResponseBase:
    if recording.is_deleted:
        return JsonResponse({"status": {"state": "deleted"}}, status=410)
    response = StreamingHttpResponse(selectors.replay_stream(recording), content_type="application/json")
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    if download:
        response["Content-Disposition"] = f'attachment; filename="recording-{recording.pk}.json"'
    return response


@require_GET
@staff_only
def recording_events(request: AuthenticatedHttpRequest, pk: int) -> HttpResponseBase:
    """The decrypted events: the replay page streams them to every staff viewer of the recording;
    saving them as a file (``?download=1``) takes them out of the audited replay, so only a manager
    may, and the download is audited as such."""
    recording = _staff_recording(request, pk)
    download = request.GET.get("download") == "1"
    if download and not permissions.is_manager(request.user):
        return render(
            request,
            "recordings/message.html",
            _msg("Managers only", "Only a manager can download a recording's events."),
            status=403,
        )
    if not recording.is_deleted:
        services.note_access(recording, request.user, "downloaded" if download else "viewed", via="staff")
    return _stream(recording, download=download)


def _index_response(recording: Recording, token: str) -> HttpResponse:
    index = selectors.chunk_index(recording)
    index["opening"] = token
    response = JsonResponse(index, status=410 if recording.is_deleted else 200)
    response["Cache-Control"] = "no-store"
    return response


def _chunk_response(recording: Recording, index: int, admit: Callable[[], None]) -> HttpResponse:
    try:
        body = selectors.replay_chunk(recording, index)
    except selectors.NoSuchChunk:
        raise Http404("No such chunk.") from None
    admit()  # content is about to be served: audited unless its opening already was
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@staff_only
def recording_index(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Opening a replay: the chunk list with time ranges and sizes. Audited once per opening."""
    recording = _staff_recording(request, pk)
    token = "" if recording.is_deleted else openings.open_replay(recording, request.user, via="staff")
    return _index_response(recording, token)


@require_GET
@staff_only
def recording_chunk(request: AuthenticatedHttpRequest, pk: int, index: int) -> HttpResponse:
    """One decrypted chunk of an opened replay (access-checked on every request)."""
    recording = _staff_recording(request, pk)
    if recording.is_deleted:
        raise Http404("No such chunk.")
    opening = request.GET.get("opening")
    return _chunk_response(
        recording, index, lambda: openings.admit_chunk(recording, request.user, opening, via="staff")
    )


@require_POST
@staff_only
def recording_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    recording = _staff_recording(request, pk)
    try:
        services.delete_by_manager(
            recording, manager=request.user, erasure=request.POST.get("erasure") == "1"
        )
    except PermissionDenied:
        return render(request, "recordings/message.html", _msg("Managers only", "Ask a manager."), status=403)
    messages.success(request, "The recording was deleted. Its key and stored data are gone.")
    return redirect("recordings:detail", pk=recording.pk)


# --- highlights ------------------------------------------------------------------------------


def _ms(value: Any) -> int:
    """Seconds (``75`` or ``1:15``) from a form field as milliseconds."""
    text = str(value or "").strip()
    try:
        if ":" in text:
            minutes, seconds = text.split(":", 1)
            return int((int(minutes) * 60 + float(seconds)) * 1000)
        return int(float(text) * 1000)
    except ValueError:
        raise ValidationError("Times are seconds, or minutes:seconds.") from None


@require_POST
@staff_only
def highlight_create(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    recording = _staff_recording(request, pk)
    try:
        if request.POST.get("start_ms"):
            start, end = int(request.POST["start_ms"]), int(request.POST.get("end_ms") or 0)
        else:
            start, end = _ms(request.POST.get("start")), _ms(request.POST.get("end"))
        services.create_highlight(
            recording,
            actor=request.user,
            start_ms=start,
            end_ms=end,
            title=request.POST.get("title", ""),
            tags=request.POST.get("tags", ""),
        )
    except (ValidationError, ValueError) as exc:
        messages.error(
            request, _errors(exc) if isinstance(exc, ValidationError) else "Times must be numbers."
        )
    else:
        messages.success(request, "Highlight saved to the training library.")
    return redirect("recordings:detail", pk=recording.pk)


@require_POST
@staff_only
def highlight_delete(request: AuthenticatedHttpRequest, highlight_id: int) -> HttpResponse:
    highlight = Highlight.objects.select_related("recording__session").filter(pk=highlight_id).first()
    if highlight is None or not permissions.can_view_recording(request.user, highlight.recording):
        raise Http404("No such highlight.")
    try:
        services.delete_highlight(highlight, actor=request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    return redirect("recordings:detail", pk=highlight.recording_id)


@require_GET
@staff_only
def highlight_library(request: AuthenticatedHttpRequest) -> HttpResponse:
    highlights = selectors.visible_highlights(request.user, request.GET)
    tags = sorted({tag for h in selectors.visible_highlights(request.user) for tag in h.tags})
    page = Paginator(highlights, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "recordings/highlights.html",
        {"page": page, "tags": tags, "filters": request.GET, "nav": "highlights"},
    )


# --- manager: customer requests ---------------------------------------------------------------


@require_GET
@manager_only
def access_requests(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request,
        "recordings/requests.html",
        {
            "pending": selectors.pending_access_requests(),
            "decided": selectors.recent_access_decisions(),
            "nav": "recordings",
        },
    )


@require_POST
@manager_only
def access_request_decide(request: AuthenticatedHttpRequest, request_id: int) -> HttpResponse:
    approve = request.POST.get("decision") == "approve"
    try:
        decision = services.decide_access_request(request_id, manager=request.user, approve=approve)
    except RecordingAccessRequest.DoesNotExist:
        raise Http404("No such request.") from None
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect("recordings:requests")
    if decision.link:
        messages.success(request, "Approved. The customer was e-mailed a link valid for 7 days.")
    else:
        messages.info(request, "Declined.")
    return redirect("recordings:requests")


# --- customer --------------------------------------------------------------------------------


@require_GET
@customers_only
def portal_recordings(request: AuthenticatedHttpRequest) -> HttpResponse:
    recordings = list(selectors.customer_recordings(request.user))
    latest = selectors.latest_requests(request.user, recordings)
    rows = [(recording, latest.get(recording.pk)) for recording in recordings]
    return render(request, "recordings/portal.html", {"rows": rows, "nav": "recordings"})


def _customer_recording(request: AuthenticatedHttpRequest, pk: int) -> Recording:
    try:
        return selectors.get_customer_recording(request.user, pk)
    except Recording.DoesNotExist:
        raise Http404("No such recording.") from None


@require_POST
@customers_only
def portal_request_copy(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    recording = _customer_recording(request, pk)
    try:
        services.request_access(recording, customer=request.user)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, "Requested. A manager will review it; you will get an e-mail with a link.")
    return redirect(safe_next(request, "recordings:portal"))


@require_POST
@customers_only
def portal_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    recording = _customer_recording(request, pk)
    if recording.is_deleted:
        messages.info(request, "This recording was already deleted.")
    else:
        services.erase_for_customer(recording, customer=request.user)
        messages.success(request, "Your recording was deleted. It cannot be recovered.")
    return redirect("recordings:portal")


def _copy_request(request: AuthenticatedHttpRequest, token: str) -> RecordingAccessRequest | HttpResponse:
    try:
        return services.resolve_access_link(token, request.user)
    except RecordingAccessRequest.DoesNotExist:
        raise Http404("No such link.") from None
    except services.LinkGone as exc:
        return render(request, "recordings/message.html", _msg("Link expired", str(exc)), status=410)


@require_GET
@login_required
def customer_copy(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    found = _copy_request(request, token)
    if isinstance(found, HttpResponse):
        return found
    recording = found.recording
    config = _replay_config(
        recording,
        reverse("recordings:customer_copy_events", args=[token]),
        index_url=reverse("recordings:customer_copy_index", args=[token]),
        chunk_url=reverse("recordings:customer_copy_chunk", args=[token, 0]),
        timeline=[],
        highlights=[],
        focus=None,
    )
    context = {
        "recording": recording,
        "session": recording.session,
        "config": config,
        "customer_view": True,
        "expires_at": found.expires_at,
        "nav": "recordings",
    }
    return render(request, "recordings/replay.html", context)


@require_GET
@login_required
def customer_copy_events(request: AuthenticatedHttpRequest, token: str) -> HttpResponseBase:
    found = _copy_request(request, token)
    if isinstance(found, HttpResponse):
        return JsonResponse({"status": {"state": "gone"}}, status=410)
    download = request.GET.get("download") == "1"
    services.note_access(
        found.recording,
        request.user,
        "downloaded" if download else "viewed",
        via="customer_link",
        request=found.pk,
    )
    return _stream(found.recording, download=download)


@require_GET
@login_required
def customer_copy_index(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    found = _copy_request(request, token)
    if isinstance(found, HttpResponse):
        return JsonResponse({"status": {"state": "gone"}}, status=410)
    opening = openings.open_replay(found.recording, request.user, via="customer_link", request=found.pk)
    return _index_response(found.recording, opening)


@require_GET
@login_required
def customer_copy_chunk(request: AuthenticatedHttpRequest, token: str, index: int) -> HttpResponse:
    found = _copy_request(request, token)
    if isinstance(found, HttpResponse):
        return JsonResponse({"status": {"state": "gone"}}, status=410)
    opening = request.GET.get("opening")
    return _chunk_response(
        found.recording,
        index,
        lambda: openings.admit_chunk(
            found.recording, request.user, opening, via="customer_link", request=found.pk
        ),
    )
