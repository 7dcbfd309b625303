"""Takedown requests from anyone (docs/takedowns.md): a proof-of-work challenge, the request
(no account; rate limited per client address), its status page by reference and token; the
reviewer's decision; the admins' deadline sweep and removal times."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.concurrency import sync_to_thread
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.hma_format import format_signals, parse_signals
from api.deps import (
    ActorDep,
    AuthenticatedController,
    IdempotencyKey,
    Req,
    client_address,
    command,
    container,
    parse_uuid,
    require,
)
from api.schemas.takedowns import (
    BankEntryOut,
    BankSwitchIn,
    ChallengeOut,
    CounterNoticeDecisionIn,
    CounterNoticeIn,
    CounterNoticeOut,
    EscalatedOut,
    ImportedOut,
    TakedownDecidedOut,
    TakedownDecisionIn,
    TakedownFiledOut,
    TakedownIn,
    TakedownStatsOut,
    TakedownStatusOut,
    TrustIn,
    TrustOut,
)
from domain.actors import Actor, Role
from domain.errors import ValidationError

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}")
Token = Annotated[str, QueryParameter(name="token", min_length=8, max_length=100,
                                      description="The token returned when filing.")]


def public_actor(address: str) -> Actor:
    """A filer without an account: their address, hashed (the log keeps no addresses)."""
    return Actor("public:" + hashlib.sha256(address.encode()).hexdigest()[:16], Role.PUBLIC)


def content_of(data: TakedownIn) -> tuple[UUID, str]:
    if data.generation_id:
        return parse_uuid(data.generation_id, "generation_id"), \
            "upload" if data.found_by_upload else "id"
    found = _UUID.search(data.link or "")
    if found is None:
        raise ValidationError("name the content: generation_id (the provenance lookup "
                              "answers it for an uploaded copy) or a link to it",
                              field="generation_id")
    return UUID(found.group()), "link"


class TakedownController(Controller):
    path = "/takedown-requests"
    tags = ["takedowns"]

    @get("/challenge", operation_id="takedownChallenge")
    async def challenge(self, request: Req) -> ChallengeOut:
        """A proof-of-work challenge to solve before filing (public)."""
        c = container(request)
        request.app.state["rate_limits"].check_subject("takedown-challenge",
                                                       client_address(request))
        return ChallengeOut(c.proof_of_work.challenge())

    @post("/", operation_id="fileTakedownRequest", status_code=201)
    async def file(self, request: Req, data: JSONBody[TakedownIn],
                   idempotency_key: IdempotencyKey = None) -> TakedownFiledOut:
        """Anyone may ask for a video to be removed; no account is needed. Needs a solved
        challenge (`proof_of_work`); rate limited per client address. Opens an urgent
        case with the deadline (48 hours from now unless the operator set a shorter one);
        answers a reference and a token for the status page."""
        address = client_address(request)
        request.app.state["rate_limits"].check_subject("takedown", address)
        c = container(request)
        nonce = await sync_to_thread(c.proof_of_work.verify, data.proof_of_work)
        generation_id, located_by = content_of(data)
        contact = {k: v for k, v in (("email", data.contact.email), ("name", data.contact.name),
                                     ("phone", data.contact.phone)) if v}
        result = await command(request, c.app.file_takedown, public_actor(address), nonce,
                               generation_id, located_by, data.category, data.relation,
                               data.good_faith_statement, data.signature, contact,
                               key=idempotency_key)
        return TakedownFiledOut(
            reference=result["reference"], token=result["secret"],
            status_url=f"/takedown-requests/{result['reference']}", deadline=result["deadline"])

    @get("/{reference:str}", operation_id="getTakedownRequest")
    async def status(self, request: Req, reference: FromPath[str], token: Token
                     ) -> TakedownStatusOut:
        """The status page: where the request stands and everything the requester was
        told. Needs the token given at filing (a wrong one: not found)."""
        app = container(request).app
        found = await sync_to_thread(app.takedown_status, reference, token)
        return TakedownStatusOut.of(found)


class TakedownReviewController(AuthenticatedController):
    path = "/review/takedown-requests"
    tags = ["review", "takedowns"]

    @post("/{reference:str}/decision", operation_id="decideTakedownRequest",
          status_code=200)
    async def decide(self, request: Req, actor: ActorDep, reference: FromPath[str],
                     data: JSONBody[TakedownDecisionIn],
                     idempotency_key: IdempotencyKey = None) -> TakedownDecidedOut:
        """Validates (removes the video and its remixes at once, under `policy_code`) or
        rejects (with `reasons` for the requester) a takedown request, named by its
        reference (its case's evidence shows it); needs a live claim on its case."""
        require(actor, Role.REVIEWER, Role.ADMIN)
        app = container(request).app
        result = await command(request, app.decide_takedown, actor, reference, data.valid,
                               data.policy_code, data.reasons, key=idempotency_key)
        return TakedownDecidedOut(state=result["state"], removed=result["removed"])


    @post("/{reference:str}/counter-notices/{generation_id:uuid}/decision",
          operation_id="decideCounterNotice", status_code=200)
    async def decide_counter_notice(self, request: Req, actor: ActorDep,
                                    reference: FromPath[str], generation_id: FromPath[UUID],
                                    data: JSONBody[CounterNoticeDecisionIn],
                                    idempotency_key: IdempotencyKey = None
                                    ) -> TakedownDecidedOut:
        """Decides a counter-notice: a reviewer other than the one who validated the
        request, holding its case. Reinstating checks the video against consent as it is
        now first, and disables its hash bank entry."""
        require(actor, Role.REVIEWER, Role.ADMIN)
        app = container(request).app
        result = await command(request, app.decide_counter_notice, actor, reference,
                               generation_id, data.reinstate, data.policy_code, data.reasons,
                               key=idempotency_key)
        return TakedownDecidedOut(state=result["state"], removed=[])


class CounterNoticeController(AuthenticatedController):
    path = "/generations"
    tags = ["takedowns"]

    @post("/{generation_id:uuid}/counter-notice", operation_id="fileCounterNotice",
          status_code=201)
    async def counter_notice(self, request: Req, actor: ActorDep,
                             generation_id: FromPath[UUID], data: JSONBody[CounterNoticeIn],
                             idempotency_key: IdempotencyKey = None) -> CounterNoticeOut:
        """The author of a video removed for a takedown request contests the removal, once;
        the requester is told on their status page."""
        require(actor, Role.MEMBER)
        app = container(request).app
        result = await command(request, app.file_counter_notice, actor, generation_id,
                               data.statement, key=idempotency_key)
        return CounterNoticeOut(case_id=result["case_id"], reference=result["reference"])


class TakedownAdminController(AuthenticatedController):
    path = "/admin/takedowns"
    tags = ["admin", "takedowns"]

    @get("/stats", operation_id="takedownStats")
    async def stats(self, request: Req, actor: ActorDep) -> TakedownStatsOut:
        """Filing to the last copy out of the feed (p50, p99), and the open requests."""
        require(actor, Role.ADMIN)
        app = container(request).app
        return TakedownStatsOut(**await sync_to_thread(app.takedown_stats))

    @post("/escalations", operation_id="escalateDueTakedowns", status_code=200)
    async def escalate(self, request: Req, actor: ActorDep,
                       idempotency_key: IdempotencyKey = None) -> EscalatedOut:
        """Runs the deadline sweep now (the server also runs it every 30 seconds): every open
        request near its deadline escalates to the senior queue, once. A second sweep
        changes nothing, so an Idempotency-Key is accepted and has nothing to do."""
        require(actor, Role.ADMIN)
        app = container(request).app
        return EscalatedOut(await command(request, app.escalate_due_takedowns, actor))


Source = Annotated[str, QueryParameter(name="source", min_length=1, max_length=100,
                                       description="The bank: `local` (removed here) or "
                                                   "an imported source's name.")]
MAX_IMPORT_BYTES = 8 * 1024 * 1024  # about 110,000 signals a request


class HashBankController(AuthenticatedController):
    path = "/admin/hash-bank"
    tags = ["admin", "takedowns"]

    @get("/export", operation_id="exportHashBank", media_type="text/plain")
    async def export(self, request: Req, actor: ActorDep, source: Source = "local"
                     ) -> Response[str]:
        """The enabled entries' PDQ hashes in HMA's signal file format (`pdq <hex>` a
        line), for an HMA instance's file exchange or its bank API."""
        require(actor, Role.ADMIN)
        app = container(request).app
        hashes = await sync_to_thread(app.export_bank, actor, source)
        return Response(format_signals(hashes), media_type="text/plain")

    @post("/import", operation_id="importHashBank", status_code=200,
          request_max_body_size=MAX_IMPORT_BYTES)
    async def import_signals(self, request: Req, actor: ActorDep, source: Source,
                             reason: Annotated[str, QueryParameter(
                                 name="reason", max_length=200)] = "",
                             idempotency_key: IdempotencyKey = None) -> ImportedOut:
        """Loads an HMA signal file (Content-Type text/plain; `pdq <hex>` or a bare hash a
        line; other signal types are skipped) as entries of `source`. They never act
        without review until the source is marked trusted
        (`PUT /admin/hash-bank/sources/{source}`)."""
        require(actor, Role.ADMIN)
        try:
            text = (await request.body()).decode()
        except UnicodeDecodeError:
            raise ValidationError("the signal file is not UTF-8 text") from None
        signals, skipped = parse_signals(text)
        app = container(request).app
        result = await command(request, app.import_bank, actor, source, signals, reason,
                               key=idempotency_key)
        return ImportedOut(source=result["source"], imported=result["imported"],
                           already=result["already"], skipped=skipped,
                           trusted=result["trusted"])

    @put("/sources/{source:str}", operation_id="setBankSourceTrust", status_code=200)
    async def trust(self, request: Req, actor: ActorDep, source: FromPath[str],
                    data: JSONBody[TrustIn],
                    idempotency_key: IdempotencyKey = None) -> TrustOut:
        """Marks an imported source trusted (its matches reject without a person) or not
        (they go to review)."""
        require(actor, Role.ADMIN)
        app = container(request).app
        result = await command(request, app.trust_bank_source, actor, source, data.trusted,
                               data.reason, key=idempotency_key)
        return TrustOut(**result)

    @get("/{entry_id:uuid}", operation_id="getBankEntry")
    async def entry(self, request: Req, actor: ActorDep, entry_id: FromPath[UUID]
                    ) -> BankEntryOut:
        """One entry of the hash bank, with its history."""
        require(actor, Role.ADMIN, Role.REVIEWER)
        app = container(request).app
        return msgspec.convert(await sync_to_thread(app.bank_entry, actor, entry_id),
                               BankEntryOut)

    @post("/{entry_id:uuid}/disable", operation_id="disableBankEntry", status_code=200)
    async def disable(self, request: Req, actor: ActorDep, entry_id: FromPath[UUID],
                      data: JSONBody[BankSwitchIn],
                      idempotency_key: IdempotencyKey = None) -> BankEntryOut:
        """Stops the entry from matching (a wrongful removal, say); it is never deleted."""
        return await _switch(request, actor, entry_id, False, data.reason, idempotency_key)

    @post("/{entry_id:uuid}/enable", operation_id="enableBankEntry", status_code=200)
    async def enable(self, request: Req, actor: ActorDep, entry_id: FromPath[UUID],
                     data: JSONBody[BankSwitchIn],
                     idempotency_key: IdempotencyKey = None) -> BankEntryOut:
        """Lets a disabled entry match again."""
        return await _switch(request, actor, entry_id, True, data.reason, idempotency_key)


async def _switch(request: Req, actor: Actor, entry_id: UUID, enabled: bool, reason: str,
                  key: str | None) -> BankEntryOut:
    require(actor, Role.ADMIN)
    app = container(request).app
    result = await command(request, app.set_bank_entry, actor, entry_id, enabled, reason,
                           key=key)
    return msgspec.convert(result, BankEntryOut)
