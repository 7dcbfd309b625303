"""The review console: server-rendered pages under /console for reviewers and admins, on the
same commands and read models as the JSON API. Pages are GETs that change nothing (except
recording who looked at which evidence); every change is a POST form with the session's
CSRF token, answered with a redirect back to the page (post/redirect/get)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID

import jinja2
from litestar import Controller, Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Redirect

from api.console.session import (
    COOKIE,
    SIGN_IN_COOKIE,
    NotSignedInError,
    check_csrf,
    check_sign_in_csrf,
    console_actor,
    csrf_token,
    new_sign_in_token,
)
from api.controllers.review import evidence_of, evidence_response, list_for_staff
from api.deps import command, container, views
from api.errors import PROBLEM
from domain.actors import Actor, Role
from domain.errors import (
    AuthenticationError,
    DomainError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from domain.review_case import PRIORITIES
from domain.review_config import ACTIONS, Filter, Policy, Queue, Rule, StrikePolicy
from domain.services.access import SessionExpiredError
from domain.staff import GRADES, Staff

Req = Request[Any, Any, Any]
TEMPLATES = Path(__file__).parent / "templates"
PRIORITY_NAMES = {rank: name for name, rank in PRIORITIES.items()}
HEADERS = {
    # Scripts, styles and media only from here; no framing; forms post only here.
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; media-src 'self'; "
                               "script-src 'self'; style-src 'self'; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    if minutes < 1:
        return f"{int(seconds)} s"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours < 48 else f"{hours // 24} d"


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                         undefined=jinja2.StrictUndefined, trim_blocks=True,
                         lstrip_blocks=True)
ENV.filters.update(age=_age, when=_when, priority=lambda p: PRIORITY_NAMES.get(p, "normal"),
                   short=lambda text: str(text)[:8])


def render(request: Req, template: str, actor: Actor | None = None, status: int = 200,
           **context: Any) -> Response[str]:
    token = request.cookies.get(COOKIE)
    html = ENV.get_template(template).render(
        actor=actor, csrf=csrf_token(token) if token and actor else "",
        done=request.query_params.get("done", ""), **context)
    return Response(html, status_code=status, media_type="text/html", headers=HEADERS)


def back(path: str, done: str = "") -> Redirect:
    return Redirect(path + (f"?{urlencode({'done': done})}" if done else ""), status_code=303,
                    headers=HEADERS)


# -- errors ----------------------------------------------------------------------------
def _error_page(request: Req, status: int, code: str, detail: str) -> Response[Any]:
    if "text/html" not in request.headers.get("accept", "text/html") \
            and "application/json" in request.headers.get("accept", ""):
        body = {"type": f"https://consentry.dev/problems/{code}", "title": code,
                "status": status, "code": code, "detail": detail}
        return Response(body, status_code=status, media_type=PROBLEM)
    return render(request, "error.html", None, status, code=code, detail=detail,
                  status_code=status)


def on_domain_error(request: Req, exc: DomainError) -> Response[Any]:
    if isinstance(exc, AuthenticationError) and request.method == "GET":
        query = {"next": request.url.path}
        if isinstance(exc, SessionExpiredError):
            query["expired"] = "1"
        response: Response[Any] = Redirect(f"/console/sign-in?{urlencode(query)}",
                                           status_code=303, headers=HEADERS)
        if not isinstance(exc, NotSignedInError):
            response.delete_cookie(COOKIE, path="/console")
        return response
    return _error_page(request, exc.status, exc.code, exc.detail)


def on_http_error(request: Req, exc: HTTPException) -> Response[Any]:
    code = {400: "bad-request", 404: "not-found", 405: "method-not-allowed",
            413: "body-too-large"}.get(exc.status_code, "http-error")
    return _error_page(request, exc.status_code, code, str(exc.detail))


# -- helpers ---------------------------------------------------------------------------
async def form_of(request: Req) -> dict[str, Any]:
    """The form's fields (lists for repeated names), after its CSRF token was checked."""
    form = await request.form()
    fields = {k: (form.getall(k) if len(form.getall(k)) > 1 else form.get(k))
              for k in form}
    check_csrf(request, fields)
    return fields


def _text(form: dict[str, Any], name: str, default: str | None = None) -> str:
    value = form.get(name, default)
    if value is None or isinstance(value, list) or not str(value).strip():
        raise ValidationError(f"the form needs {name}", field=name)
    return str(value).strip()


def _list(form: dict[str, Any], name: str) -> list[str]:
    value = form.get(name) or []
    return [str(v) for v in (value if isinstance(value, list) else [value]) if str(v)]


def _words(form: dict[str, Any], name: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in str(form.get(name) or "").split(",") if w.strip())


def _uuid(text: str, name: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise ValidationError(f"{name} must be a UUID", field=name) from None


async def _config(request: Req) -> Any:
    return await sync_to_thread(container(request).app.review_config)


def _decisions_for(actor: Actor, queue: Queue | None, grade: str) -> tuple[str, ...]:
    if actor.role == Role.ADMIN:
        return ACTIONS
    return queue.decisions.get(grade, ()) if queue is not None else ()


class ConsoleController(Controller):
    path = "/console"
    include_in_schema = False
    exception_handlers = {DomainError: on_domain_error, HTTPException: on_http_error}

    # -- sign-in -------------------------------------------------------------------------
    @get("/sign-in")
    async def sign_in_page(self, request: Req) -> Response[str]:
        token = new_sign_in_token()
        response = render(request, "sign_in.html", None, sign_in_csrf=token,
                          expired=request.query_params.get("expired") == "1",
                          next=request.query_params.get("next", "/console/"))
        response.set_cookie(Cookie(key=SIGN_IN_COOKIE, value=token, path="/console",
                                   httponly=True, samesite="strict", max_age=1800,
                                   secure=request.url.scheme == "https"))
        return response

    @post("/sign-in", status_code=303)
    async def sign_in(self, request: Req) -> Response[Any]:
        form = dict(await request.form())
        check_sign_in_csrf(request, form)
        key = _text(form, "key")
        app = container(request).app
        opened = await sync_to_thread(app.open_session, key)
        target = str(form.get("next") or "/console/")
        response = Redirect(target if _local(target) else "/console/", status_code=303,
                            headers=HEADERS)
        max_age = int((opened["expires_at"] - app.clock()).total_seconds())
        response.set_cookie(Cookie(key=COOKIE, value=opened["token"], path="/console",
                                   httponly=True, samesite="strict", max_age=max_age,
                                   secure=request.url.scheme == "https"))
        response.delete_cookie(SIGN_IN_COOKIE, path="/console")
        return response

    @post("/sign-out", status_code=303)
    async def sign_out(self, request: Req) -> Response[Any]:
        await console_actor(request)
        await form_of(request)
        await sync_to_thread(container(request).app.close_session, request.cookies[COOKIE])
        response = Redirect("/console/sign-in", status_code=303, headers=HEADERS)
        response.delete_cookie(COOKIE, path="/console")
        return response

    # -- queues ----------------------------------------------------------------------------
    @get("/")
    async def overview(self, request: Req) -> Response[str]:
        actor = await console_actor(request)
        app = container(request).app
        config = await _config(request)
        mine = await sync_to_thread(app.workable_queues, actor)
        counts = await views(request).review_queue.queue_counts(app.clock())
        queues = [(q, *counts.get(q.name, (0, None))) for q in config.queues.values()
                  if q.name in mine]
        return render(request, "overview.html", actor, queues=queues)

    @get("/queues/{name:str}")
    async def queue_page(self, request: Req, name: FromPath[str]) -> Response[str]:
        actor = await console_actor(request)
        app = container(request).app
        config = await _config(request)
        queue = config.queues.get(name)
        if queue is None:
            raise NotFoundError("no such queue", queue=name)
        cursor = request.query_params.get("cursor")
        rows, next_cursor = await list_for_staff(request, actor, queue=name, cursor=cursor)
        count, oldest = (await views(request).review_queue.queue_counts(app.clock())).get(
            name, (0, None))
        return render(request, "queue.html", actor, queue=queue, rows=rows, count=count,
                      oldest=oldest, next_cursor=next_cursor, now=app.clock())

    @get("/next")
    async def next_case(self, request: Req) -> Redirect:
        """The most urgent case of the queue nobody else holds."""
        actor = await console_actor(request)
        queue = request.query_params.get("queue") or None
        rows, _ = await list_for_staff(request, actor, queue=queue, available=True, limit=1)
        if not rows:
            return back(f"/console/queues/{quote(queue)}" if queue else "/console/",
                        "Nothing waiting here.")
        return back(f"/console/cases/{rows[0].id}")

    # -- a case ----------------------------------------------------------------------------
    @get("/cases/{case_id:uuid}")
    async def case_page(self, request: Req, case_id: FromPath[UUID]) -> Response[str]:
        actor = await console_actor(request)
        app = container(request).app
        v = views(request)

        def write_side() -> tuple[Any, ...]:
            case = app.case_for(actor, case_id)
            return case, app.review_config(), app.grade_of(app.staff_of(actor))

        case, config, grade = await sync_to_thread(write_side)
        evidence = await evidence_of(request, actor, case_id, base="/console/cases")
        row = await v.review_queue.get(case_id)
        if row is None:
            raise NotFoundError("the case is not in the read model yet; reload in a moment")
        generation = await v.generation_status.get(row.subject_id) \
            if row.subject_kind == "generation" else None
        history, _ = await v.audit.history(case_id, limit=200)
        queue = config.queues.get(case.queue)
        policies = [p for p in config.policies.values() if not p.retired]
        return render(
            request, "case.html", actor, case=case, row=row, queue=queue,
            decisions=_decisions_for(actor, queue, grade), policies=policies,
            reports=await v.review_queue.reports(case_id), generation=generation,
            evidence=evidence, history=history, now=app.clock(),
            holds_claim=case.claimed_by == actor.id and case.lease_until is not None
            and app.clock() < case.lease_until,
            first_decider=case.decided_by == actor.id)

    @get("/cases/{case_id:uuid}/evidence/{item:str}")
    async def evidence(self, request: Req, case_id: FromPath[UUID],
                       item: FromPath[str]) -> Response[bytes]:
        actor = await console_actor(request)
        unblurred = request.query_params.get("unblurred") in ("1", "true")
        return await evidence_response(request, actor, case_id, item, unblurred)

    @post("/cases/{case_id:uuid}/{action:str}", status_code=303)
    async def case_action(self, request: Req, case_id: FromPath[UUID],
                          action: FromPath[str]) -> Redirect:
        actor = await console_actor(request)
        form = await form_of(request)
        app = container(request).app
        page = f"/console/cases/{case_id}"
        match action:
            case "claim":
                await command(request, app.claim_case, actor, case_id)
                return back(page, "Claimed for 15 minutes.")
            case "release":
                await command(request, app.release_case, actor, case_id)
                return back(page, "Released.")
            case "comment":
                internal = form.get("visibility", "internal") != "author"
                await command(request, app.comment_case, actor, case_id,
                              _text(form, "text"), internal)
                return back(page, "Note added." if internal else "Note to the author sent.")
            case "escalate":
                await command(request, app.escalate_case, actor, case_id,
                              _text(form, "reason"), form.get("release") == "1")
                return back(page, "Escalated.")
            case "decide":
                await command(request, app.decide_case, actor, case_id,
                              _text(form, "decision"), _text(form, "policy_code"))
                return back(page, "Decided.")
            case "appeal-decision":
                await command(request, app.decide_appeal, actor, case_id,
                              _text(form, "decision"), _text(form, "policy_code"))
                return back(page, "Appeal decided.")
            case "calibrate":
                made = await command(request, app.mark_calibration, actor, case_id,
                                     _text(form, "decision"), _text(form, "policy_code"))
                return back(page, f"Calibration item {made['case_id']} is in the queue.")
        raise NotFoundError("no such action", action=action)

    @post("/me/wellness", status_code=303)
    async def wellness(self, request: Req) -> Redirect:
        actor = await console_actor(request)
        form = await form_of(request)
        label = _text(form, "label")
        reset = form.get("mode") == "default"
        await command(request, container(request).app.override_wellness, actor, label,
                      None if reset else form.get("blur") == "1",
                      None if reset else form.get("grayscale") == "1")
        target = str(form.get("back") or "/console/")
        return back(target if _local(target) else "/console/", f"Filter for {label} saved.")

    @get("/me")
    async def me(self, request: Req) -> Response[str]:
        actor = await console_actor(request)
        app = container(request).app

        def read() -> tuple[Staff | None, Any]:
            return app.staff_of(actor), app.review_config()

        staff, config = await sync_to_thread(read)
        labels = sorted({*config.wellness, "default", "likeness", "copyright", "safety",
                         "report", "identity"})
        rows = [(label, config.shown(label),
                 staff.wellness.get(label) if staff is not None else None)
                for label in labels]
        return render(request, "me.html", actor, staff=staff, rows=rows)

    # -- statistics and admin --------------------------------------------------------------
    @get("/statistics")
    async def statistics(self, request: Req) -> Response[str]:
        actor = await console_actor(request)
        _admin(actor)
        app = container(request).app
        stats = await views(request).review_queue.statistics(app.clock())
        return render(request, "statistics.html", actor, stats=stats)

    @get("/admin")
    async def admin(self, request: Req) -> Response[str]:
        actor = await console_actor(request)
        _admin(actor)
        app = container(request).app
        v = views(request)
        staff_ids = await v.audit.created("Staff")

        def read() -> tuple[list[Staff], Any]:
            found = [app.find(Staff, i) for i in staff_ids]
            return [s for s in found if s is not None], app.review_config()

        staff, config = await sync_to_thread(read)
        return render(request, "admin.html", actor, staff=staff, config=config,
                      calibration=await v.review_queue.calibration_items(), grades=GRADES,
                      actions=ACTIONS, secret=request.query_params.get("secret", ""))

    @post("/admin/{action:str}", status_code=303)
    async def admin_action(self, request: Req, action: FromPath[str]) -> Redirect:
        actor = await console_actor(request)
        _admin(actor)
        form = await form_of(request)
        app = container(request).app
        page = "/console/admin"
        if action == "enrol":
            made = await command(request, app.enrol_staff, actor, _text(form, "name"),
                                 _text(form, "role"), grade=_text(form, "grade"))
            # The key is shown once, on the page this redirects to (never stored).
            return Redirect(f"{page}?{urlencode({'secret': made['secret']})}",
                            status_code=303, headers=HEADERS)
        if action == "grade":
            await command(request, app.change_staff_grade, actor,
                          _uuid(_text(form, "staff_id"), "staff_id"), _text(form, "grade"))
            return back(page, "Grade changed.")
        change = _config_change(actor, action, form)
        await command(request, app.configure_review, actor, action,
                      {k: v for k, v in form.items() if k != "csrf"}, change)
        return back(page, "Saved.")

    @get("/audit")
    async def audit(self, request: Req) -> Response[str]:
        actor = await console_actor(request)
        _admin(actor)
        stream = request.query_params.get("stream", "").strip()
        entries: list[Any] = []
        next_cursor = None
        if stream:
            entries, next_cursor = await views(request).audit.history(
                _uuid(stream, "stream"), request.query_params.get("cursor"), 100)
        return render(request, "audit.html", actor, stream=stream, entries=entries,
                      next_cursor=next_cursor)


def _local(path: str) -> bool:
    """A console path (never another site: no scheme, no host, no backslash tricks)."""
    return path.startswith("/console/") and "//" not in path and "\\" not in path


def _admin(actor: Actor) -> None:
    if actor.role != Role.ADMIN:
        raise PermissionDeniedError("admins only")


def _int(form: dict[str, Any], name: str) -> int:
    try:
        return int(_text(form, name))
    except ValueError:
        raise ValidationError(f"{name} must be a whole number", field=name) from None


def _config_change(actor: Actor, action: str, form: dict[str, Any]) -> Any:
    """The ReviewConfig method an admin form calls."""
    match action:
        case "policy":
            policy = Policy(_text(form, "code").upper(), _text(form, "title"),
                            str(form.get("description") or ""),
                            _int(form, "severity"), tuple(_list(form, "actions")))
            return lambda c: c.define_policy(actor, policy)
        case "retire-policy":
            code = _text(form, "code")
            return lambda c: c.retire_policy(actor, code)
        case "queue":
            decisions = {g: tuple(_list(form, f"decisions_{g}")) for g in GRADES
                         if _list(form, f"decisions_{g}")}
            queue = Queue(_text(form, "name"), _text(form, "title"), decisions,
                          str(form.get("senior") or "") or None)
            return lambda c: c.define_queue(actor, queue)
        case "delete-queue":
            name = _text(form, "name")
            return lambda c: c.delete_queue(actor, name)
        case "rule":
            rule = Rule(_text(form, "rule_id"), _text(form, "queue"), _words(form, "labels"),
                        _words(form, "reasons"))
            return lambda c: c.add_rule(actor, rule)
        case "remove-rule":
            rule_id = _text(form, "rule_id")
            return lambda c: c.remove_rule(actor, rule_id)
        case "wellness":
            label, shown = _text(form, "label"), Filter(form.get("blur") == "1",
                                                        form.get("grayscale") == "1")
            return lambda c: c.set_wellness_default(actor, label, shown)
        case "strikes":
            strikes = StrikePolicy(*(_int(form, k) for k in (
                "min_severity", "limit", "lifetime_days", "suspension_days")))
            return lambda c: c.set_strike_policy(actor, strikes)
    raise NotFoundError("no such admin action", action=action)

