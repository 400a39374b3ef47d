"""The console's pages: ``/ui`` and below.

Every page authenticates like the API (the key comes from the console's cookie instead of a
header), takes a token from the same rate-limit bucket, and reads through the service. A
namespace key is confined to its namespace; the admin key picks one with ``?ns=``. Changes
(delete, erase, prune) are two steps: a page that previews what would go, then a POST of that
page's form; a POST from another origin is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from memsvc.api.auth import Caller
from memsvc.api.deps import ApiState
from memsvc.api.errors import status_for
from memsvc.errors import (
    AuthenticationFailed,
    InvalidQuery,
    MemoryNotFound,
    MemsvcError,
    PermissionDenied,
    StoreUnavailable,
)
from memsvc.service.facade import MemoryService
from memsvc.types import MemoryKind, MemoryRecord, Scope, utcnow
from memsvc.validation import check_time

__all__ = ["COOKIE_NAME", "install_console", "router"]

logger = logging.getLogger(__name__)

COOKIE_NAME = "memsvc_console_key"
"""The cookie that carries the API key typed on the login page (HttpOnly, SameSite=Strict)."""

_HERE = Path(__file__).resolve().parent
_templates = Jinja2Templates(directory=str(_HERE / "templates"))
_T = TypeVar("_T")


class _LoginRequired(Exception):
    """No valid key in the cookie: the page answers with a redirect to the login page."""


class _ConsoleRoute(APIRoute):
    """Renders errors as console pages instead of the API's JSON bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except _LoginRequired:
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                return RedirectResponse(f"/ui/login?next={quote(target)}", status_code=303)
            except MemsvcError as exc:
                if status_for(exc) >= 500:
                    logger.warning("console page failed with %s", exc.code)
                return _templates.TemplateResponse(
                    request,
                    "error.html",
                    {"page": _Page(caller=None), "error": exc},
                    status_code=status_for(exc),
                )

        return handler


router = APIRouter(prefix="/ui", route_class=_ConsoleRoute, include_in_schema=False)


def install_console(app: FastAPI) -> None:
    """Mount the console's pages and its packaged static files on ``app``."""
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=str(_HERE / "static")), name="console-static")


# -- plumbing ------------------------------------------------------------------------------


@dataclass
class _Page:
    """What every template gets: the caller, the namespace shown and the ones it may pick."""

    caller: Caller | None
    ns: str = ""
    namespaces: Sequence[str] = ()
    title: str = ""
    flash: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def url(self, path: str, **params: Any) -> str:
        """``path`` with ``ns`` (for an admin looking at another namespace) and ``params``."""
        query = {k: v for k, v in params.items() if v not in (None, "", False)}
        if self.caller is not None and self.ns and self.ns != self.caller.namespace:
            query["ns"] = self.ns
        return f"{path}?{urlencode(query)}" if query else path


def _service(request: Request) -> MemoryService:
    service: MemoryService | None = getattr(request.app.state, "service", None)
    if service is None:
        raise StoreUnavailable("the memory service is not ready")
    return service


def _authenticate(request: Request, service: MemoryService) -> Caller:
    """The caller named by the cookie's key, checked exactly like an API request's."""
    state: ApiState = request.app.state.api
    secret = request.cookies.get(COOKIE_NAME)
    host = request.client.host if request.client is not None else None
    try:
        caller = state.authenticator.lookup(secret, client_host=host)
        if caller is None:
            assert secret is not None
            caller = state.authenticator.verify(service, secret)
    except AuthenticationFailed:
        raise _LoginRequired() from None
    state.limiter.acquire(caller.principal)
    return caller


def _namespace(service: MemoryService, caller: Caller, wanted: str | None) -> tuple[str, list[str]]:
    """The namespace to show and those the caller may pick (all of them for an admin)."""
    if not caller.is_admin:
        if wanted and wanted != caller.namespace:
            raise PermissionDenied("this key sees only its own namespace")
        return caller.namespace, [caller.namespace]
    names = service.namespaces()
    if caller.namespace not in names:
        names = sorted([*names, caller.namespace])
    if wanted and wanted not in names:
        raise InvalidQuery("no such namespace", detail={"namespace": wanted[:128]})
    return wanted or caller.namespace, names


def _page(request: Request, service: MemoryService, title: str) -> _Page:
    caller = _authenticate(request, service)
    ns, names = _namespace(service, caller, request.query_params.get("ns"))
    return _Page(caller=caller, ns=ns, namespaces=names, title=title)


def _render(request: Request, template: str, page: _Page, **context: Any) -> HTMLResponse:
    return _templates.TemplateResponse(request, template, {"page": page, **context})


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form of a POST from this console's own pages (others are refused)."""
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.url.netloc:
        raise PermissionDenied("a console form was posted from another site")
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


async def _call(fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    return await run_in_threadpool(fn, *args, **kwargs)


def _parse_when(raw: str | None, *, name: str) -> datetime | None:
    """A date (``2024-05-01``) or date-time from a form field, as UTC; empty means none."""
    return check_time(raw, field=name) if raw else None


def _scope(user_id: str) -> Scope:
    return Scope(user_id=user_id)


# -- login ---------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/ui") -> Response:
    """The login form (auth off: straight to the console)."""
    state: ApiState = request.app.state.api
    if not state.authenticator.is_enabled:
        return RedirectResponse("/ui", status_code=303)
    return _render(request, "login.html", _Page(caller=None, title="Log in"), next=_safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the key; on success keep it in the console's cookie."""
    form = await _form(request)
    secret = form.get("api_key", "").strip()
    target = _safe_next(form.get("next", "/ui"))
    state: ApiState = request.app.state.api
    service = _service(request)
    try:
        caller = state.authenticator.lookup(secret)
        if caller is None:
            caller = await _call(state.authenticator.verify, service, secret)
    except AuthenticationFailed:
        page = _Page(caller=None, title="Log in", flash="That key is unknown or revoked.")
        failed = _render(request, "login.html", page, next=target)
        failed.status_code = 401
        return failed
    logger.info("console login for namespace %s (admin=%s)", caller.namespace, caller.is_admin)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        secret,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/ui",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Forget the key."""
    await _form(request)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/ui")
    return response


def _safe_next(target: str) -> str:
    """Only a console path: never an open redirect to another site."""
    if not target.startswith("/ui") or target.startswith("//"):
        return "/ui"
    return target


# -- overview ------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def overview(request: Request) -> Response:
    """Namespaces, the users of the one shown with their memory counts, and the queue."""
    service = _service(request)
    page = _page(request, service, "Overview")
    users = service.users(namespace=page.ns)
    stats = service.stats(namespace=page.ns)
    return _render(request, "overview.html", page, users=users, stats=stats, kinds=_KIND_NAMES)


_KIND_NAMES = [k.value for k in MemoryKind]


# -- one user: facts timeline, episodes, summaries, tree -------------------------------------


@dataclass(frozen=True)
class _Bar:
    """One fact on the timeline: where its validity starts and ends, in percent of the span."""

    record: MemoryRecord
    start: datetime
    end: datetime | None
    left: float
    width: float
    is_valid_at_as_of: bool | None


def _timeline(records: Sequence[MemoryRecord], as_of: datetime | None) -> tuple[list[_Bar], Any]:
    now = utcnow()
    starts = [r.valid_from or r.occurred_at for r in records]
    t0 = min(starts, default=now)
    t1 = max([now, *(r.valid_to for r in records if r.valid_to is not None)])
    span = max((t1 - t0).total_seconds(), 1.0)
    bars = []
    for record, start in sorted(zip(records, starts, strict=True), key=lambda p: (p[1], p[0].id)):
        end = record.valid_to or t1
        left = 100.0 * (start - t0).total_seconds() / span
        width = max(100.0 * (end - start).total_seconds() / span, 0.8)
        bars.append(
            _Bar(
                record=record,
                start=start,
                end=record.valid_to,
                left=round(min(left, 99.2), 2),
                width=round(min(width, 100.0 - left), 2) if left < 99.2 else 0.8,
                is_valid_at_as_of=record.is_valid_at(as_of) if as_of is not None else None,
            )
        )
    marker = None
    if as_of is not None and t0 <= as_of <= t1:
        marker = round(100.0 * (as_of - t0).total_seconds() / span, 2)
    return bars, {"start": t0, "end": t1, "as_of_left": marker}


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_facts(request: Request, user_id: str, as_of: str = "") -> Response:
    """The user's facts, current and superseded, as a validity timeline; ``as_of`` marks a
    moment and shows which facts were true then."""
    service = _service(request)
    page = _page(request, service, f"{user_id}: facts")
    when = _parse_when(as_of, name="as_of")
    facts = service.get_all(
        scope=_scope(user_id),
        kinds=[MemoryKind.FACT],
        include_inactive=True,
        limit=1000,
        namespace=page.ns,
    ).items
    bars, span = _timeline(facts, when)
    page.flash = request.query_params.get("flash")
    return _render(
        request,
        "facts.html",
        page,
        user_id=user_id,
        bars=bars,
        span=span,
        as_of=as_of,
        tab="facts",
    )


@router.get("/users/{user_id}/episodes", response_class=HTMLResponse)
def user_episodes(request: Request, user_id: str) -> Response:
    """The user's episodes, newest first, each with its events."""
    service = _service(request)
    page = _page(request, service, f"{user_id}: episodes")
    scope = _scope(user_id)
    episodes = service.episodes(scope=scope, limit=200, namespace=page.ns)
    events = service.get_all(
        scope=scope, kinds=[MemoryKind.EVENT], limit=1000, namespace=page.ns
    ).items
    by_episode: dict[int | None, list[MemoryRecord]] = {}
    for event in sorted(events, key=lambda e: (e.occurred_at, e.ref.id)):
        by_episode.setdefault(event.episode_id, []).append(event)
    return _render(
        request,
        "episodes.html",
        page,
        user_id=user_id,
        episodes=episodes,
        by_episode=by_episode,
        unsegmented=by_episode.get(None, []),
        tab="episodes",
    )


@router.get("/users/{user_id}/summaries", response_class=HTMLResponse)
def user_summaries(request: Request, user_id: str) -> Response:
    """The user's profile and the summaries of their episodes, sessions and days."""
    service = _service(request)
    page = _page(request, service, f"{user_id}: summaries")
    scope = _scope(user_id)
    summaries = service.get_all(
        scope=scope, kinds=[MemoryKind.SUMMARY], limit=1000, namespace=page.ns
    ).items
    profile = service.profile(scope=scope, namespace=page.ns)
    return _render(
        request,
        "summaries.html",
        page,
        user_id=user_id,
        summaries=[s for s in summaries if profile is None or s.id != profile.id],
        profile=profile,
        tab="summaries",
    )


@dataclass
class _TreeNode:
    record: MemoryRecord
    children: list[_TreeNode] = field(default_factory=list)


@router.get("/users/{user_id}/tree", response_class=HTMLResponse)
def user_tree(request: Request, user_id: str) -> Response:
    """The user's MemTree, collapsible, root first."""
    service = _service(request)
    page = _page(request, service, f"{user_id}: MemTree")
    nodes = service.tree(scope=_scope(user_id), namespace=page.ns)
    by_id: dict[int, _TreeNode] = {n.ref.id: _TreeNode(n) for n in nodes}
    roots: list[_TreeNode] = []
    for node in by_id.values():
        parent = by_id.get(node.record.attributes.get("parent_id") or -1)
        (parent.children if parent is not None else roots).append(node)
    return _render(
        request, "tree.html", page, user_id=user_id, roots=roots, count=len(nodes), tab="tree"
    )


@router.get("/users/{user_id}/erase", response_class=HTMLResponse)
def erase_preview(request: Request, user_id: str) -> Response:
    """What erasing the user would remove, and the form that does it."""
    service = _service(request)
    page = _page(request, service, f"Erase {user_id}")
    counts = service.users(namespace=page.ns, limit=100_000).get(user_id, {})
    return _render(request, "erase.html", page, user_id=user_id, counts=counts)


@router.post("/users/{user_id}/erase", response_class=HTMLResponse)
async def erase(request: Request, user_id: str) -> Response:
    """Erase every memory of the user, with its history (after the preview's confirmation)."""
    form = await _form(request)
    service = _service(request)
    page = await _call(_page, request, service, f"Erase {user_id}")
    if form.get("confirm") != user_id:
        raise InvalidQuery("type the user id to confirm the erase", detail={"field": "confirm"})
    removed = await _call(service.delete_all, scope=_scope(user_id), namespace=page.ns)
    flash = f"erased {removed} memories of {user_id}"
    return RedirectResponse(page.url("/ui", flash=flash), status_code=303)


# -- one memory: its history, delete ----------------------------------------------------------


@router.get("/memories/{memory_id}", response_class=HTMLResponse)
def memory_page(request: Request, memory_id: str) -> Response:
    """A memory and every change it went through (also after it was deleted)."""
    service = _service(request)
    page = _page(request, service, memory_id)
    try:
        record: MemoryRecord | None = service.get(memory_id, namespace=page.ns)
    except MemoryNotFound:
        record = None
    history = service.history(memory_id, namespace=page.ns)
    return _render(
        request, "memory.html", page, memory_id=memory_id, record=record, history=history
    )


@router.get("/memories/{memory_id}/delete", response_class=HTMLResponse)
def delete_preview(request: Request, memory_id: str) -> Response:
    """The memory that would be deleted, and the form that deletes it."""
    service = _service(request)
    page = _page(request, service, f"Delete {memory_id}")
    record = service.get(memory_id, namespace=page.ns)
    return _render(request, "delete.html", page, record=record)


@router.post("/memories/{memory_id}/delete", response_class=HTMLResponse)
async def delete(request: Request, memory_id: str) -> Response:
    """Delete the memory from SQL and every index (after the preview's confirmation)."""
    form = await _form(request)
    service = _service(request)
    page = await _call(_page, request, service, f"Delete {memory_id}")
    if form.get("confirm") != "yes":
        raise InvalidQuery("confirm the delete on its page", detail={"field": "confirm"})
    record = await _call(service.get, memory_id, namespace=page.ns)
    await _call(
        service.delete,
        memory_id,
        erase_history=form.get("erase_history") == "on",
        namespace=page.ns,
        actor="console",
    )
    flash = f"deleted {memory_id}"
    target = (
        page.url(f"/ui/users/{quote(record.scope.user_id)}", flash=flash)
        if record.scope.user_id
        else page.url("/ui", flash=flash)
    )
    return RedirectResponse(target, status_code=303)


# -- search playground ---------------------------------------------------------------------


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    q: str = "",
    user_id: str = "",
    top_k: int = 10,
    as_of: str = "",
    include_inactive: str = "",
) -> Response:
    """Run a search and show each hit's score parts and where it came from."""
    service = _service(request)
    page = _page(request, service, "Search")
    result = None
    if q.strip():
        result = service.search(
            q,
            scope=Scope(user_id=user_id or None),
            namespace=page.ns,
            top_k=top_k,
            as_of=_parse_when(as_of, name="as_of"),
            include_inactive=include_inactive == "on",
        )
    users = sorted(service.users(namespace=page.ns))
    return _render(
        request,
        "search.html",
        page,
        q=q,
        user_id=user_id,
        top_k=top_k,
        as_of=as_of,
        include_inactive=include_inactive == "on",
        result=result,
        users=[u for u in users if u != "-"],
    )


# -- operations: queue, lag, index health, prune -----------------------------------------------


@router.get("/operations", response_class=HTMLResponse)
def operations(request: Request, verify: str = "") -> Response:
    """The job queue, consolidation lag, index sizes and, on request, an index verify."""
    service = _service(request)
    page = _page(request, service, "Operations")
    stats = service.stats(namespace=page.ns)
    report = None
    if verify:
        report = service.indexes.verify(service.namespace_id(page.ns))
    return _render(request, "operations.html", page, stats=stats, report=report)


def _prune_options(form: dict[str, str]) -> dict[str, Any]:
    days = form.get("older_than_days", "").strip()
    below = form.get("forget_below", "").strip()
    try:
        older = utcnow() - timedelta(days=float(days)) if days else None
        threshold = float(below) if below else None
    except ValueError:
        raise InvalidQuery("days and threshold must be numbers") from None
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise InvalidQuery("the retention threshold is between 0 and 1")
    return {
        "older_than": older,
        "forget_below": threshold,
        "erase_history": form.get("erase_history") == "on",
    }


@router.get("/prune", response_class=HTMLResponse)
def prune_preview(request: Request) -> Response:
    """A dry run of prune with the form's options, and the form that runs it for real."""
    service = _service(request)
    page = _page(request, service, "Prune")
    form = dict(request.query_params)
    report = None
    if form.get("preview"):
        report = service.prune(dry_run=True, namespace=page.ns, **_prune_options(form))
    return _render(request, "prune.html", page, form=form, report=report, done=None)


@router.post("/prune", response_class=HTMLResponse)
async def prune(request: Request) -> Response:
    """Prune for real (after the preview's confirmation)."""
    form = await _form(request)
    service = _service(request)
    page = await _call(_page, request, service, "Prune")
    if form.get("confirm") != "yes":
        raise InvalidQuery("confirm the prune on its page", detail={"field": "confirm"})
    done = await _call(service.prune, dry_run=False, namespace=page.ns, **_prune_options(form))
    return _render(request, "prune.html", page, form=form, report=None, done=done)


# -- entities ------------------------------------------------------------------------------


@router.get("/entities", response_class=HTMLResponse)
def entities(request: Request) -> Response:
    """The entity graph, once the service has one."""
    service = _service(request)
    page = _page(request, service, "Entities")
    listing = getattr(service, "entities", None)
    return _render(request, "entities.html", page, is_available=callable(listing))
