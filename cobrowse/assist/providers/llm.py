"""A language model behind any OpenAI-compatible chat completions API, with the rules as its net.

``ASSIST_LLM_URL`` (the API base, e.g. ``https://api.example.com/v1``), ``ASSIST_LLM_MODEL`` and
``ASSIST_LLM_API_KEY`` come from the environment. What is sent is the masked context only: masked
fields carry no value (the context never has one) and every string passes the identifier patterns
once more, so a card number read out on a call or typed into a plain field does not leave either.

The reply must be a JSON list of proposals (bare, in a code fence, or as ``{"proposals": [...]}``);
each one is validated (:mod:`cobrowse.assist.providers.proposals`). Anything else — no
configuration, a timeout, an HTTP error, a reply that is not such a list, a list of which nothing
is valid — and the rules answer instead, so the assistant never goes quiet because a model did.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from cobrowse.assist.providers import proposals
from cobrowse.assist.providers.rules import RuleBasedProvider
from cobrowse.masking.values import redact_json

logger = logging.getLogger(__name__)

MAX_REPLY_BYTES = 256 * 1024

INSTRUCTIONS = (
    "You help a customer who is filling in a web form while sharing it with a support desk. "
    "You get the session context as JSON: the page (fields with id, label, value, status, error; "
    "a masked field has value null and must never be filled), the stall and friction figures, the "
    "customer's data on file (user.crm_data) and the last words of a call. Answer with a JSON list "
    "of at most 5 proposals and nothing else. Each is an object with a kind: "
    '{"kind": "prompt", "text": ..., "field": optional id, "trigger": optional}, '
    '{"kind": "highlight", "field": id}, {"kind": "scroll", "field": id}, '
    '{"kind": "autofill", "field": id, "value": a value from crm_data, "source": "crm_data.<key>"}, '
    '{"kind": "speech", "text": ...}, {"kind": "browse", "url": https URL}. '
    "Only use field ids from the context; only autofill values that are in crm_data. "
    "Answer [] when no help is needed."
)

_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


class ProviderError(Exception):
    """The model could not be asked or did not answer usefully; safe to log (no context in it)."""


def outgoing(context: Mapping[str, Any]) -> dict[str, Any]:
    """The context as it may leave the desk: masked values dropped, identifier patterns masked."""
    page = dict(context.get("page") or {})
    form = dict(page.get("form_state") or {})
    fields = []
    for field in form.get("fields") or ():
        item = dict(field)
        if item.get("masked") is not False:
            item["value"] = None
        fields.append(item)
    form["fields"] = fields
    page["form_state"] = form
    safe: dict[str, Any] = redact_json({"page": page, "user": dict(context.get("user") or {})})
    return safe


def parse_reply(body: bytes) -> list[Any]:
    """The proposals list of a chat completions reply; :class:`ProviderError` for anything else."""
    try:
        reply = json.loads(body)
        content = reply["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ProviderError("the reply is not a chat completion") from None
    if not isinstance(content, str):
        raise ProviderError("the reply has no text")
    try:
        parsed = json.loads(_FENCE.sub("", content.strip()))
    except ValueError:
        raise ProviderError("the reply's text is not JSON") from None
    if isinstance(parsed, dict) and isinstance(parsed.get("proposals"), list):
        parsed = parsed["proposals"]
    if not isinstance(parsed, list):
        raise ProviderError("the reply's text is not a list of proposals")
    return parsed


class OpenAICompatibleProvider:
    """Asks the configured model; the rules answer whenever it cannot."""

    name = "openai"

    def __init__(
        self,
        *,
        url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float | None = None,
        fallback: RuleBasedProvider | None = None,
    ) -> None:
        self.url = (url if url is not None else settings.ASSIST_LLM_URL).rstrip("/")
        self.model = model if model is not None else settings.ASSIST_LLM_MODEL
        self.api_key = api_key if api_key is not None else settings.ASSIST_LLM_API_KEY
        self.timeout = timeout if timeout is not None else float(settings.ASSIST_LLM_TIMEOUT_SECONDS)
        self.fallback = fallback or RuleBasedProvider()

    def propose(self, context: Mapping[str, Any]) -> list[dict[str, Any]]:
        try:
            raws = self.ask(context)
        except ProviderError as exc:
            logger.warning("assistant model unavailable, rules used instead: %s", exc)
            return self.fallback.propose(context)
        valid = proposals.validate(raws, context)
        if raws and not valid:
            logger.warning("assistant model proposed nothing valid, rules used instead")
            return self.fallback.propose(context)
        return valid

    def ask(self, context: Mapping[str, Any]) -> list[Any]:
        """POST the masked context to ``{url}/chat/completions``; the reply's raw proposals."""
        if not self.url.lower().startswith(("https://", "http://")) or not self.model:
            raise ProviderError("ASSIST_LLM_URL (http or https) and ASSIST_LLM_MODEL must be set")
        body = json.dumps(
            {
                "model": self.model,
                "temperature": 0,
                "messages": [
                    {"role": "system", "content": INSTRUCTIONS},
                    {"role": "user", "content": json.dumps(outgoing(context), ensure_ascii=False)},
                ],
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(  # noqa: S310 (scheme checked above)
            f"{self.url}/chat/completions", data=body, method="POST", headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                reply = response.read(MAX_REPLY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise ProviderError(f"the model answered {exc.code}") from None
        except TimeoutError:
            raise ProviderError("the model did not answer in time") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise ProviderError("the model did not answer in time") from None
            raise ProviderError("the model could not be reached") from None
        except (OSError, http.client.HTTPException, ValueError):
            raise ProviderError("the model could not be reached") from None
        if len(reply) > MAX_REPLY_BYTES:
            raise ProviderError("the model's reply is too large")
        return parse_reply(reply)
