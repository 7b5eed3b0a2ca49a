"""Who proposes the assistant's interventions: the rules, or a language model with the rules as net.

``ASSIST_PROVIDER`` picks one: ``rules`` (default, :class:`RuleBasedProvider`), ``openai``
(:class:`OpenAICompatibleProvider`) or the dotted path of a class with the same ``propose``. A
setting that names nothing usable is logged and the rules answer: a typo must not silence help.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from cobrowse.assist.providers.llm import OpenAICompatibleProvider
from cobrowse.assist.providers.proposals import KINDS, validate
from cobrowse.assist.providers.rules import RuleBasedProvider, Thresholds

logger = logging.getLogger(__name__)


class Provider(Protocol):
    def propose(self, context: Mapping[str, Any]) -> list[dict[str, Any]]: ...


BUILT_IN: dict[str, type[Provider]] = {"rules": RuleBasedProvider, "openai": OpenAICompatibleProvider}


def get_provider() -> Provider:
    name = str(getattr(settings, "ASSIST_PROVIDER", "rules") or "rules")
    if name in BUILT_IN:
        return BUILT_IN[name]()
    try:
        provider: Provider = import_string(name)()
    except Exception:
        logger.exception("ASSIST_PROVIDER %r cannot be loaded: the rules answer instead", name)
        return RuleBasedProvider()
    return provider


def propose(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The configured provider's proposals for one session context."""
    return get_provider().propose(context)


__all__ = [
    "KINDS",
    "OpenAICompatibleProvider",
    "Provider",
    "RuleBasedProvider",
    "Thresholds",
    "get_provider",
    "propose",
    "validate",
]
