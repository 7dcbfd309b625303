"""How trust and safety works, as admins configure it: the policy catalogue, the queues and
their routing rules, the wellness defaults and the strike policy. Staff read it; admins
change it, each change an event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from litestar import delete, get, put
from litestar.concurrency import sync_to_thread
from litestar.params import JSONBody, PathParameter

from api.deps import ActorDep, AuthenticatedController, IdempotencyKey, Req, command, container
from api.deps import require as require_role
from api.schemas.review_config import (
    FilterIO,
    PolicyIn,
    QueueIn,
    ReviewConfigOut,
    RuleIn,
    StrikePolicyIO,
)
from domain.actors import Actor, Role
from domain.review_config import Filter, Policy, Queue, ReviewConfig, Rule, StrikePolicy

Code = Annotated[str, PathParameter(pattern=r"^[A-Z0-9][A-Z0-9_.:-]{0,39}$",
                                    description="A policy code, e.g. SAFETY-1")]
Name = Annotated[str, PathParameter(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]


async def change(request: Req, actor: Actor, command_name: str, args: dict[str, Any],
                 fn: Callable[[ReviewConfig], Any], key: str | None) -> ReviewConfigOut:
    require_role(actor, Role.ADMIN)
    app = container(request).app
    await command(request, app.configure_review, actor, command_name, args, fn, key=key)
    return ReviewConfigOut.of(await sync_to_thread(app.review_config))


class ReviewConfigController(AuthenticatedController):
    path = "/review/config"
    tags = ["review"]

    @get("/", operation_id="getReviewConfig")
    async def read(self, request: Req, actor: ActorDep) -> ReviewConfigOut:
        """The policy catalogue, queues, routing rules, wellness defaults and strikes."""
        require_role(actor, Role.REVIEWER, Role.ADMIN)
        return ReviewConfigOut.of(await sync_to_thread(container(request).app.review_config))

    @put("/policies/{code:str}", operation_id="definePolicy", status_code=200)
    async def define_policy(self, request: Req, actor: ActorDep, code: Code,
                            data: JSONBody[PolicyIn],
                            idempotency_key: IdempotencyKey = None) -> ReviewConfigOut:
        """Adds a policy code or changes one (a retired code comes back)."""
        policy = Policy(code, data.title, data.description, data.severity,
                        tuple(data.actions))
        return await change(request, actor, "define_policy",
                            {"code": code, "p": [data.title, data.description, data.severity,
                                                 data.actions]},
                            lambda c: c.define_policy(actor, policy), idempotency_key)

    @delete("/policies/{code:str}", operation_id="retirePolicy", status_code=200)
    async def retire_policy(self, request: Req, actor: ActorDep, code: Code) -> ReviewConfigOut:
        """Decisions can no longer name it; past decisions keep it."""
        return await change(request, actor, "retire_policy", {"code": code},
                            lambda c: c.retire_policy(actor, code), None)

    @put("/queues/{name:str}", operation_id="defineQueue", status_code=200)
    async def define_queue(self, request: Req, actor: ActorDep, name: Name,
                           data: JSONBody[QueueIn],
                           idempotency_key: IdempotencyKey = None) -> ReviewConfigOut:
        queue = Queue(name, data.title, {g: tuple(d) for g, d in data.decisions.items()},
                      data.senior)
        return await change(request, actor, "define_queue",
                            {"name": name, "q": [data.title, data.decisions, data.senior]},
                            lambda c: c.define_queue(actor, queue), idempotency_key)

    @delete("/queues/{name:str}", operation_id="deleteQueue", status_code=200)
    async def delete_queue(self, request: Req, actor: ActorDep, name: Name) -> ReviewConfigOut:
        """Refused (409 queue-in-use) while a rule, another queue's escalation or the
        defaults send cases there."""
        return await change(request, actor, "delete_queue", {"name": name},
                            lambda c: c.delete_queue(actor, name), None)

    @put("/rules/{rule_id:str}", operation_id="defineRoutingRule", status_code=200)
    async def define_rule(self, request: Req, actor: ActorDep, rule_id: Name,
                          data: JSONBody[RuleIn],
                          idempotency_key: IdempotencyKey = None) -> ReviewConfigOut:
        """Adds a routing rule, or replaces one (it moves to the end of the order)."""
        rule = Rule(rule_id, data.queue, tuple(data.labels), tuple(data.reasons))
        return await change(request, actor, "define_rule",
                            {"id": rule_id, "r": [data.queue, data.labels, data.reasons]},
                            lambda c: c.add_rule(actor, rule), idempotency_key)

    @delete("/rules/{rule_id:str}", operation_id="removeRoutingRule", status_code=200)
    async def remove_rule(self, request: Req, actor: ActorDep, rule_id: Name
                          ) -> ReviewConfigOut:
        return await change(request, actor, "remove_rule", {"id": rule_id},
                            lambda c: c.remove_rule(actor, rule_id), None)

    @put("/wellness/{label:str}", operation_id="setWellnessDefault", status_code=200)
    async def set_wellness(self, request: Req, actor: ActorDep, label: Name,
                           data: JSONBody[FilterIO],
                           idempotency_key: IdempotencyKey = None) -> ReviewConfigOut:
        """How evidence of a content label is first shown to reviewers who have not chosen
        for themselves."""
        shown = Filter(data.blur, data.grayscale)
        return await change(request, actor, "set_wellness_default",
                            {"l": label, "b": data.blur, "g": data.grayscale},
                            lambda c: c.set_wellness_default(actor, label, shown),
                            idempotency_key)

    @put("/strikes", operation_id="setStrikePolicy", status_code=200)
    async def set_strikes(self, request: Req, actor: ActorDep, data: JSONBody[StrikePolicyIO],
                          idempotency_key: IdempotencyKey = None) -> ReviewConfigOut:
        policy = StrikePolicy(data.min_severity, data.limit, data.lifetime_days,
                              data.suspension_days)
        return await change(request, actor, "set_strike_policy",
                            {"s": [data.min_severity, data.limit, data.lifetime_days,
                                   data.suspension_days]},
                            lambda c: c.set_strike_policy(actor, policy), idempotency_key)
