"""The OpenAI-compatible provider against a fake chat completions server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cobrowse.assist import propose
from cobrowse.assist.context import build_context
from cobrowse.assist.providers import OpenAICompatibleProvider, RuleBasedProvider, Thresholds
from cobrowse.assist.voice import CallState
from tests.cobrowse.assist.pages import SECRETS, field, loan_page

PIN_ON_FILE = {"known_pin": "560001"}


class FakeModel:
    """A chat completions endpoint that records what it received and answers what the test says."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.reply: bytes = b""
        self.status = 200
        self.delay = 0.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake.paths.append(self.path)
                fake.headers.append(dict(self.headers))
                fake.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                if fake.delay:
                    time.sleep(fake.delay)
                try:
                    self.send_response(fake.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(fake.reply)))
                    self.end_headers()
                    self.wfile.write(fake.reply)
                except OSError:
                    pass  # the client gave up (the timeout test)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def answer(self, content) -> None:
        text = content if isinstance(content, str) else json.dumps(content)
        self.reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_model():
    fake = FakeModel()
    yield fake
    fake.close()


def _provider(fake: FakeModel, timeout: float = 3.0) -> OpenAICompatibleProvider:
    return OpenAICompatibleProvider(
        url=fake.url,
        model="test-model",
        api_key="sk-test",
        timeout=timeout,
        fallback=RuleBasedProvider(Thresholds()),
    )


def _secret_context():
    page = loan_page(
        stalled_ms=25_000,
        fields=[
            {**field("card", label="Card"), "masked": True, "value": SECRETS["card"]},
            field("mother", name="mothers_name", label="Mother's name", value=SECRETS["mother"]),
            field("pan", label="Tax id", value=SECRETS["pan"]),
            field("property_pin_code", label="PIN code", status="active"),
        ],
    )
    call = CallState(
        active=True,
        transcript_last_30s=[
            {"speaker": "customer", "text": f"my card is {SECRETS['card']}", "at": "2026-12-04T10:00:00Z"}
        ],
    )
    return build_context(page, selectors=["[name=mothers_name]"], crm_data=PIN_ON_FILE, call=call)


def test_only_the_masked_context_is_sent(fake_model):
    fake_model.answer(
        [{"kind": "prompt", "text": "Need a hand with the PIN code?", "field": "property_pin_code"}]
    )
    proposals = _provider(fake_model).propose(_secret_context())
    assert proposals == [
        {"kind": "prompt", "text": "Need a hand with the PIN code?", "field": "property_pin_code"}
    ]
    assert fake_model.paths == ["/v1/chat/completions"]
    assert fake_model.headers[0]["Authorization"] == "Bearer sk-test"
    body = fake_model.bodies[0].decode()
    request = json.loads(body)
    assert request["model"] == "test-model"
    sent = json.loads(request["messages"][-1]["content"])
    assert sent["page"]["form_state"]["current_field_focus"] == "property_pin_code"
    assert sent["user"]["crm_data"] == PIN_ON_FILE  # what an autofill may use
    compact = body.replace(" ", "").replace("\\u00a0", "")
    for name, secret in SECRETS.items():
        assert secret not in body, name
        assert secret.replace(" ", "") not in compact, name


def test_propose_uses_the_configured_model(fake_model, settings):
    settings.ASSIST_PROVIDER = "openai"
    settings.ASSIST_LLM_URL = fake_model.url
    settings.ASSIST_LLM_MODEL = "test-model"
    settings.ASSIST_LLM_API_KEY = ""
    fake_model.answer('```json\n[{"kind": "highlight", "field": "property_pin_code"}]\n```')
    assert propose(_secret_context()) == [{"kind": "highlight", "field": "property_pin_code"}]
    assert "Authorization" not in fake_model.headers[0]


def _rules(context):
    return RuleBasedProvider(Thresholds()).propose(context)


def test_a_timeout_falls_back_to_the_rules(fake_model, caplog):
    fake_model.answer([{"kind": "prompt", "text": "too late"}])
    fake_model.delay = 1.0
    context = _secret_context()
    proposals = _provider(fake_model, timeout=0.2).propose(context)
    assert "did not answer in time" in caplog.text
    assert proposals == _rules(context)
    assert {
        "kind": "autofill",
        "field": "property_pin_code",
        "value": "560001",
        "source": "crm_data.known_pin",
    } in proposals


@pytest.mark.parametrize(
    "reply",
    [
        b"not json at all",
        b'{"choices": []}',
        json.dumps({"choices": [{"message": {"content": "Sure! I would fill in the PIN code."}}]}).encode(),
        json.dumps({"choices": [{"message": {"content": '{"kind": "prompt"}'}}]}).encode(),
        json.dumps(
            {"choices": [{"message": {"content": '[{"kind": "delete_account"}, "nonsense"]'}}]}
        ).encode(),
    ],
)
def test_a_garbage_reply_falls_back_to_the_rules(fake_model, reply):
    fake_model.reply = reply
    context = _secret_context()
    assert _provider(fake_model).propose(context) == _rules(context)


def test_an_http_error_or_no_server_falls_back_to_the_rules(fake_model):
    fake_model.status = 500
    fake_model.answer([])
    context = _secret_context()
    assert _provider(fake_model).propose(context) == _rules(context)
    closed = OpenAICompatibleProvider(url="http://127.0.0.1:9/v1", model="m", api_key="", timeout=1)
    assert closed.propose(context) == _rules(context)
    unconfigured = OpenAICompatibleProvider(url="", model="", api_key="", timeout=1)
    assert unconfigured.propose(context) == _rules(context)


def test_an_empty_list_means_no_help_is_needed(fake_model):
    fake_model.answer({"proposals": []})
    assert _provider(fake_model).propose(_secret_context()) == []


def test_invalid_proposals_are_dropped(fake_model):
    fake_model.answer(
        [
            {
                "kind": "prompt",
                "text": "Want help with the PIN code?",
                "field": "property_pin_code",
                "tone": "warm",
            },
            {
                "kind": "autofill",
                "field": "property_pin_code",
                "value": "560001",
                "source": "crm_data.known_pin",
            },
            {"kind": "autofill", "field": "property_pin_code", "value": "110001", "source": "made up"},
            {"kind": "autofill", "field": "card", "value": "560001", "source": "crm_data.known_pin"},
            {"kind": "highlight", "field": "no_such_field"},
            {"kind": "browse", "url": "http://169.254.169.254/latest/meta-data/"},
            {"kind": "browse", "url": "javascript:alert(1)"},
            {"kind": "browse", "url": "https://example.com/help/pin-codes"},
            {"kind": "speech", "text": "   "},
            {"kind": "run_script", "code": "alert(1)"},
        ]
    )
    assert _provider(fake_model).propose(_secret_context()) == [
        {"kind": "prompt", "text": "Want help with the PIN code?", "field": "property_pin_code"},
        {"kind": "autofill", "field": "property_pin_code", "value": "560001", "source": "crm_data.known_pin"},
        {"kind": "browse", "url": "https://example.com/help/pin-codes"},
    ]
