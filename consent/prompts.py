"""The words a customer is shown and asked to agree to, and the version stored with each answer.

Every text here is stored verbatim, with ``PROMPT_VERSION``, on the consent record it was shown for.
"""

from __future__ import annotations

from django.conf import settings

from cobrowse.models import CoBrowseSession, ControlMode, SessionKind

PROMPT_VERSION = "2026-11.1"

#: What an agent sees of a shared page: the same sentence on the consent screen and the help card.
PAGE_VISIBILITY = (
    "They can see the form fields and your progress — not passwords, payment details or one-time codes."
)


def is_third_party(session: CoBrowseSession) -> bool:
    """A server-side browser on a site that is not this deployment."""
    if session.kind != SessionKind.BROWSER or not session.target_url:
        return False
    from cobrowse.policy import origin_of

    return origin_of(session.target_url) != origin_of(settings.TANDEM_BASE_URL)


def consent_prompt(session: CoBrowseSession) -> str:
    """The exact words shown on the consent screen; stored with every decision.

    A server-side browser session shares no page of the customer's: it is a browser on support's
    side that both see, so the words say that instead of "this page".
    """
    if session.kind == SessionKind.BROWSER:
        text = (
            f"Agent {session.agent.public_name} wants to open a shared browser with you to help you with "
            f"ticket {session.ticket.reference}. It runs on our side, not on your device: you both see "
            "what it shows, and nothing else on your computer is shared. They cannot see passwords, "
            "payment details or one-time codes typed into it."
        )
    else:
        text = (
            f"Agent {session.agent.public_name} wants to see this page to help you with ticket "
            f"{session.ticket.reference}. {PAGE_VISIBILITY}"
        )
    if is_third_party(session):
        from cobrowse.policy import origin_of

        text += (
            f" The agent will open {origin_of(session.target_url)} in a secure browser run by support; "
            "whatever is shown on that site will be visible to them."
        )
    return text


def escalation_prompt(session: CoBrowseSession, to_mode: str) -> str:
    texts: dict[str, str] = {
        ControlMode.VIEW_ONLY: "The agent will only watch.",
        ControlMode.GUIDED: "The agent may highlight parts of the page and point at them.",
        ControlMode.CONTROLLED: "The agent may click and type for you; you approve each step.",
        ControlMode.FULL: (
            "The agent may click and type for you without asking each time. A manager approved this. "
            "Forms are never submitted and payments never made for you."
        ),
    }
    return (
        f"Agent {session.agent.public_name} asks for more help on ticket {session.ticket.reference}. "
        + (texts[to_mode])
    )


def extension_prompt(session: CoBrowseSession, seconds: int) -> str:
    return (
        f"Agent {session.agent.public_name} asks to continue the session on ticket "
        f"{session.ticket.reference} for {seconds // 60} more minutes."
    )


# --- the page's own card ---------------------------------------------------------------------------

#: What the page's own card says about each mode: the consent screen's explanations.
MODE_EXPLANATIONS: dict[str, str] = {
    ControlMode.VIEW_ONLY: "View only: the agent sees this page.",
    ControlMode.GUIDED: "Allow guidance: the agent may also highlight things and point at them.",
    ControlMode.CONTROLLED: "Allow control: the agent may click and type for you, and you approve each step.",
    ControlMode.FULL: "Full control: the agent may click and type for you without asking each time.",
}
#: The same for a server-side browser session: there is no page of the customer's, only the browser.
BROWSER_MODE_EXPLANATIONS: dict[str, str] = {
    ControlMode.VIEW_ONLY: "View only: the agent sees the shared browser.",
    ControlMode.GUIDED: "Allow guidance: the agent may also point at things in the shared browser.",
    ControlMode.CONTROLLED: (
        "Allow control: the agent may click and type in the shared browser; while you hold it, you "
        "approve each step."
    ),
    ControlMode.FULL: "Full control: the agent may click and type in the shared browser without asking.",
}
DEVICE_TITLE = "Share this page with support?"
BROWSER_DEVICE_TITLE = "Open a shared browser with support?"
#: The card's heading when a session that lost its page is picked up again on a page.
RESUME_TITLE = "Resume sharing with {agent}?"
DEVICE_REMINDER = (
    "You can stop sharing at any time, and the agent never submits forms or makes payments for you."
)


def resume_intro(session: CoBrowseSession) -> str:
    """The fresh link's screen: the session runs and its page lost the connection."""
    return (
        f"Your screen sharing with agent {session.agent.public_name} for ticket {session.ticket.reference} "
        "is still running, but the page you shared lost its connection. Continue sharing on this device "
        "with what you already agreed to:"
    )


def resume_terms(session: CoBrowseSession) -> tuple[str, str]:
    """The terms already consented to, said in full (the mode, recording): never widened."""
    return MODE_EXPLANATIONS[session.mode], recording_notice(session)


def resume_prompt(session: CoBrowseSession) -> str:
    """Everything the fresh link's screen says, as stored with the customer's answer."""
    return " ".join([resume_intro(session), *resume_terms(session)])


def recording_notice(session: CoBrowseSession) -> str:
    return recording_text(session.recording)


def recording_text(recording: bool) -> str:
    """The recording line of a card, for a session or a help request not yet taken."""
    if recording:
        return "Recording: this session is recorded and kept encrypted; you can ask for it to be deleted."
    return "This session is not recorded."


# --- the customer asks for help from the page itself (no agent yet) ------------------------------

#: The choice of recording on the help card: the consent screen's checkbox, word for word.
RECORDING_CHOICE = "Also record this session (kept encrypted; you can ask for it to be deleted)."


def help_prompt(ticket_reference: str = "") -> str:
    """The consent screen's prompt for a request no agent has taken yet: the next one who is free
    sees the page, and sees of it exactly what the consent screen says."""
    about = f" with ticket {ticket_reference}" if ticket_reference else ""
    return f"The next available support agent will see this page to help you{about}. {PAGE_VISIBILITY}"
