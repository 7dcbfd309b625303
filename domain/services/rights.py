"""Rights holders' commands: onboarding (by an admin), works, references and grants. A
rights holder only ever touches its own works and grants; others' look like not found."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.actors import SYSTEM, Actor, Role
from domain.alias_policy import TOO_SHORT, AliasPolicy, AliasRefusal
from domain.errors import AliasTooGenericError, NotFoundError
from domain.grant import Grant, GrantTerms
from domain.prompts import WorkAliasIndex
from domain.rights_holder import RightsHolder
from domain.services.access import new_key, require_role
from domain.services.consent import ConsentCommands
from domain.work import Work


class RightsCommands(ConsentCommands):
    alias_index: WorkAliasIndex
    alias_policy: AliasPolicy | None

    def onboard_rights_holder(self, actor: Actor, name: str, proof: str,
                              key: str | None = None) -> dict[str, Any]:
        require_role(actor, Role.ADMIN, Role.SYSTEM)

        def body() -> tuple[dict[str, Any], list[Any]]:
            holder = RightsHolder.onboard(actor, name, proof)
            token = new_key(holder, actor, "onboarding")
            return {"rights_holder_id": str(holder.id), "secret": token}, [holder]

        return self.run("onboard_rights_holder", actor, key, {"n": name, "p": proof}, body)

    def own_work(self, actor: Actor, work_id: UUID) -> Work:
        work = self.get(Work, work_id)
        if actor.role != Role.ADMIN and str(work.rights_holder_id) != actor.id:
            raise NotFoundError("Work not found", id=str(work_id))
        return work

    def own_grant(self, actor: Actor, grant_id: UUID) -> Grant:
        grant = self.get(Grant, grant_id)
        if actor.role not in (Role.ADMIN, Role.SYSTEM) and \
                str(grant.rights_holder_id) != actor.id:
            raise NotFoundError("Grant not found", id=str(grant_id))
        return grant

    def register_work(self, actor: Actor, title: str, kind: str, aliases: tuple[str, ...],
                      description: str = "", likeness_member_id: UUID | None = None,
                      match_policy: str = "review", key: str | None = None) -> str:
        require_role(actor, Role.RIGHTS_HOLDER)

        def body() -> tuple[str, list[Any]]:
            self.get(RightsHolder, UUID(actor.id))
            names = (title, *aliases)
            refused = list(self.alias_policy.refusals(names)
                           if self.alias_policy is not None else ())
            # Too short for the index whatever the policy: they would match inside
            # ordinary prompts all the time.
            judged = {r.alias for r in refused}
            refused += [AliasRefusal(name, TOO_SHORT, (
                f"{name!r} is too short to recognise in prompts once spacing and "
                "punctuation are ignored; register a longer name"))
                for name in self.alias_index.unusable(names) if name not in judged]
            if refused:
                raise AliasTooGenericError(
                    "these names would block ordinary prompts: " + "; ".join(
                        r.reason for r in refused),
                    refusals=[{"alias": r.alias, "kind": r.kind, "reason": r.reason}
                              for r in refused])
            work = Work.register(actor, UUID(actor.id), title, kind, tuple(aliases),
                                 description, likeness_member_id)
            work.set_match_policy(actor, match_policy)
            return str(work.id), [work]

        work_id: str = self.run("register_work", actor, key,
                                {"t": title, "k": kind, "a": list(aliases), "d": description,
                                 "l": likeness_member_id,
                                 # only when chosen: earlier keys keep their fingerprint
                                 **({"m": match_policy} if match_policy != "review" else {})},
                                body)
        return work_id

    def add_work_reference(self, actor: Actor, work_id: UUID, digest: str, media_type: str,
                           hashes: dict[str, str] | None = None, embedding_ref: str = "",
                           face_template: bytes = b"", face_model_id: str = "",
                           key: str | None = None) -> str:
        require_role(actor, Role.RIGHTS_HOLDER, Role.WORKER)

        def body() -> tuple[str, list[Any]]:
            work = self.own_work(actor, work_id) if actor.role != Role.WORKER \
                else self.get(Work, work_id)
            work.add_reference(actor, digest, media_type, hashes, embedding_ref,
                               face_template, face_model_id)
            return digest, [work]

        return self.run("add_work_reference", actor, key,
                        {"w": work_id, "d": digest, "h": hashes or {}}, body)

    def withdraw_work(self, actor: Actor, work_id: UUID, reason: str = "",
                      key: str | None = None) -> str:
        require_role(actor, Role.RIGHTS_HOLDER, Role.ADMIN)

        def body() -> tuple[str, list[Any]]:
            work = self.own_work(actor, work_id)
            work.withdraw(actor, reason)
            # Its grants end with it: nothing licenses a withdrawn work any more.
            grants = [self.get(Grant, g) for g in work.grant_ids]
            ending = [g for g in grants if not g.ended]
            for grant in ending:
                grant.revoke(actor, "work withdrawn")
            return str(work_id), [work, *ending]

        result: str = self.run("withdraw_work", actor, key, {"w": work_id, "r": reason}, body)
        return result

    def issue_grant(self, actor: Actor, work_id: UUID, terms: GrantTerms,
                    key: str | None = None) -> str:
        require_role(actor, Role.RIGHTS_HOLDER)

        def body() -> tuple[str, list[Any]]:
            work = self.own_work(actor, work_id)
            grant = Grant.issue(actor, work.id, work.rights_holder_id, terms)
            work.link_grant(actor, grant.id)
            return str(grant.id), [grant, work]

        return self.run("issue_grant", actor, key, {"w": work_id, "t": terms}, body)

    def amend_grant(self, actor: Actor, grant_id: UUID, terms: GrantTerms,
                    key: str | None = None) -> str:
        require_role(actor, Role.RIGHTS_HOLDER)

        def body() -> tuple[str, list[Any]]:
            grant = self.own_grant(actor, grant_id)
            grant.amend(actor, terms)
            return str(grant_id), [grant]

        return self.run("amend_grant", actor, key, {"g": grant_id, "t": terms}, body)

    def revoke_grant(self, actor: Actor, grant_id: UUID, reason: str = "",
                     key: str | None = None) -> str:
        require_role(actor, Role.RIGHTS_HOLDER, Role.ADMIN)

        def body() -> tuple[str, list[Any]]:
            grant = self.own_grant(actor, grant_id)
            grant.revoke(actor, reason)
            return str(grant_id), [grant]

        return self.run("revoke_grant", actor, key, {"g": grant_id, "r": reason}, body)

    def expire_grant(self, grant_id: UUID) -> bool:
        """Run by the expiry sweep; True if the grant expired now."""
        grant = self.get(Grant, grant_id)
        now = self.clock()
        if grant.ended or grant.terms.valid_until is None or now < grant.terms.valid_until:
            return False
        grant.expire(SYSTEM, now)
        self.commit(grant)
        return True
