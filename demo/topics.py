"""What the demo history's customers ask about: categories by weight, subjects and first messages.

Shared by the co-browse history and the tickets answered by message alone, so both sides of the
first-contact comparison cover the same questions.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from tickets.models import Category, Channel

CATEGORIES = [
    (Category.ACCOUNT_CONFIGURATION, 5), (Category.INTEGRATION_SETUP, 3), (Category.DEBUGGING_ERRORS, 4),
    (Category.PRODUCT_ONBOARDING, 4), (Category.SSO_AUTHENTICATION, 2), (Category.REPORT_CONFIGURATION, 2),
    (Category.BILLING, 3),
]  # fmt: skip
CHANNELS = [Channel.WEB, Channel.CHAT, Channel.PHONE, Channel.EMAIL]
SUBJECTS: dict[str, str] = {
    Category.ACCOUNT_CONFIGURATION: "Cannot find where to change my account settings",
    Category.INTEGRATION_SETUP: "The bank connection step keeps failing",
    Category.DEBUGGING_ERRORS: "An error message I do not understand",
    Category.PRODUCT_ONBOARDING: "First time using the application form",
    Category.SSO_AUTHENTICATION: "Signing in with my company account",
    Category.REPORT_CONFIGURATION: "The statement report shows the wrong month",
    Category.BILLING: "A charge on my statement I do not recognise",
}
#: The customer's opening message, written before anyone from support answers.
OPENINGS: dict[str, str] = {
    Category.ACCOUNT_CONFIGURATION: "I want to change my contact details but cannot find the page.",
    Category.INTEGRATION_SETUP: "Connecting my bank account fails at the last step every time.",
    Category.DEBUGGING_ERRORS: "The form shows an error when I press Continue and I do not know why.",
    Category.PRODUCT_ONBOARDING: "This is my first application and I am not sure what to fill in.",
    Category.SSO_AUTHENTICATION: "Signing in with my company account sends me back to the start.",
    Category.REPORT_CONFIGURATION: "My statement report shows last month instead of this one.",
    Category.BILLING: "There is a charge on my statement that I do not recognise.",
}


T = TypeVar("T")


def pick(rng: random.Random, weighted: Sequence[tuple[T, int]]) -> T:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]
