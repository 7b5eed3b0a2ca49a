"""The live sockets, one module per concern: the customer's page (:mod:`.customer`), staff
(:mod:`.agent`), members of the customer's team (:mod:`.team`) and the managers' Approvals badge
(:mod:`.approvals`), on the shared envelope sender (:mod:`.base`)."""

from live.consumers.agent import AgentConsumer
from live.consumers.approvals import ManagerApprovalsConsumer
from live.consumers.customer import CustomerConsumer, quality_level
from live.consumers.team import TeamViewerConsumer

__all__ = [
    "AgentConsumer",
    "CustomerConsumer",
    "ManagerApprovalsConsumer",
    "TeamViewerConsumer",
    "quality_level",
]
