"""The application service: one eventsourcing `Application` whose methods are the commands,
assembled from one module per area (access, members, consent, rights, generations, review,
engagement, provenance)."""

from __future__ import annotations

from collections.abc import Mapping

from domain.alias_policy import AliasPolicy
from domain.prompts import (
    InstructionChecker,
    PromptClassifier,
    SemanticWorkMatcher,
    WorkAliasIndex,
)
from domain.services.bank import BankCommands
from domain.services.core import Clock, utc_now
from domain.services.engagement import EngagementCommands
from domain.services.log_follower import LogFollower
from domain.services.notifications import NotificationCommands
from domain.services.provenance import ProvenanceCommands
from domain.services.retroactive import RetroactiveCommands
from domain.services.takedowns import TakedownCommands
from domain.services.webhooks import WebhookCommands
from domain.services.work_names import WorkNames


class Consentry(TakedownCommands, BankCommands, RetroactiveCommands, ProvenanceCommands,
                EngagementCommands, WebhookCommands, NotificationCommands):
    """Persistence comes from `env` (PERSISTENCE_MODULE: popo, sqlite or postgres); the
    prompt readers are ports, passed in by the composition root. `work_names` follows the
    log into the alias index and the semantic matcher; the gate catches it up before every
    decision, so a work registered through any process is screened at once."""

    def __init__(self, env: dict[str, str] | None, *, alias_index: WorkAliasIndex,
                 semantic_matcher: SemanticWorkMatcher, classifier: PromptClassifier,
                 instruction_checker: InstructionChecker,
                 alias_policy: AliasPolicy | None = None, clock: Clock = utc_now,
                 invite_caps: Mapping[str, int] | None = None) -> None:
        super().__init__(env, clock)
        self.alias_policy = alias_policy
        self.invite_caps = dict(invite_caps or {})
        self.alias_index = alias_index
        self.semantic_matcher = semantic_matcher
        self.classifier = classifier
        self.instruction_checker = instruction_checker
        self.work_catalogue = WorkNames(alias_index, semantic_matcher)
        self.work_names = LogFollower(self, self.work_catalogue)


__all__ = ["Consentry"]
