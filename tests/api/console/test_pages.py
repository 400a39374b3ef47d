"""The console over HTTP (TestClient): auth, confinement, each page, two-step changes."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from memsvc.errors import MemoryNotFound
from memsvc.index.ids import encode_key
from memsvc.service.facade import MemoryService
from memsvc.types import MemoryKind, MemoryRef, Scope

PAGES = [
    "/ui",
    "/ui/users/alice",
    "/ui/users/alice?as_of=2023-04-01",
    "/ui/users/alice/episodes",
    "/ui/users/alice/summaries",
    "/ui/users/alice/tree",
    "/ui/search?q=where+does+alice+live&user_id=alice",
    "/ui/operations?verify=1",
    "/ui/prune?preview=1&older_than_days=0",
    "/ui/entities",
    "/ui/memories/fact_1",
    "/ui/memories/fact_1/delete",
    "/ui/users/alice/erase",
]

_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def test_console_without_a_key_redirects_to_login(console_app: FastAPI) -> None:
    with TestClient(console_app, follow_redirects=False) as client:
        answer = client.get("/ui/users/alice")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?next=/ui/users/alice"


def test_console_login_with_an_unknown_key_is_refused(console_app: FastAPI) -> None:
    with TestClient(console_app, follow_redirects=False) as client:
        answer = client.post("/ui/login", data={"api_key": "msk_nope"})
        assert answer.status_code == 401
        assert "unknown or revoked" in answer.text
        assert client.get("/ui").status_code == 303


def test_console_login_sets_an_httponly_strict_cookie(console_app: FastAPI) -> None:
    from api.live import ADMIN_KEY

    with TestClient(console_app, follow_redirects=False) as client:
        answer = client.post("/ui/login", data={"api_key": ADMIN_KEY, "next": "//evil.example"})
    assert answer.headers["location"] == "/ui"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/ui" in cookie


def test_console_every_page_renders_without_external_assets(admin_ui: TestClient) -> None:
    for path in PAGES:
        answer = admin_ui.get(path)
        assert answer.status_code == 200, (path, answer.text[:500])
        assert not _EXTERNAL.search(answer.text), path
    assert admin_ui.get("/ui/static/console.css").status_code == 200
    assert admin_ui.get("/ui/static/console.js").status_code == 200


def test_console_timeline_shows_the_superseded_fact(admin_ui: TestClient) -> None:
    page = admin_ui.get("/ui/users/alice").text
    berlin = page[page.index('data-id="fact_1"') :].split("</div>\n</div>")[0]
    assert 'data-status="superseded"' in page
    assert "Berlin" in berlin and "superseded by" in berlin
    then = admin_ui.get("/ui/users/alice?as_of=2023-04-01").text
    # as of April 2023 Berlin was true and Paris not yet
    assert re.search(r'class="fact status-superseded then" data-id="fact_1"', then)
    assert re.search(r'class="fact status-active dim" data-id="fact_2"', then)


def test_console_namespace_key_sees_only_its_namespace(
    console_app: FastAPI, console_service: MemoryService
) -> None:
    key = console_service.create_key(namespace="other").secret
    with TestClient(console_app, follow_redirects=False) as client:
        assert client.post("/ui/login", data={"api_key": key}).status_code == 303
        own = client.get("/ui")
        assert own.status_code == 200
        assert "alice" not in own.text
        assert client.get("/ui/users/alice?ns=default").status_code == 403
        assert "Berlin" not in client.get("/ui/users/alice").text


def test_console_admin_picks_any_namespace(
    admin_ui: TestClient, console_service: MemoryService
) -> None:
    console_service.add("hello from bob", scope=Scope(user_id="bob"), namespace="team")
    assert "bob" in admin_ui.get("/ui?ns=team").text
    assert admin_ui.get("/ui?ns=missing").status_code == 422


def test_console_delete_needs_its_confirmation(
    admin_ui: TestClient, console_service: MemoryService
) -> None:
    refused = admin_ui.post("/ui/memories/fact_2/delete", data={})
    assert refused.status_code == 422
    assert console_service.get("fact_2").content
    done = admin_ui.post("/ui/memories/fact_2/delete", data={"confirm": "yes"})
    assert done.status_code == 303
    assert done.headers["location"].startswith("/ui/users/alice?flash=deleted")
    with pytest.raises(MemoryNotFound):
        console_service.get("fact_2")
    index = console_service.indexes.get(console_service.namespace_id())
    key = encode_key(MemoryRef.parse("fact_2"))
    assert key not in index.dense
    assert key not in index.sparse


def test_console_post_from_another_origin_is_refused(
    admin_ui: TestClient, console_service: MemoryService
) -> None:
    answer = admin_ui.post(
        "/ui/memories/fact_2/delete",
        data={"confirm": "yes"},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    assert console_service.get("fact_2").kind is MemoryKind.FACT


def test_console_erase_removes_the_user(
    admin_ui: TestClient, console_service: MemoryService
) -> None:
    preview = admin_ui.get("/ui/users/alice/erase").text
    assert "event" in preview and "fact" in preview
    assert admin_ui.post("/ui/users/alice/erase", data={"confirm": "bob"}).status_code == 422
    done = admin_ui.post("/ui/users/alice/erase", data={"confirm": "alice"})
    assert done.status_code == 303
    assert console_service.users().get("alice") is None


def test_docs_and_redoc_reference_no_external_host(admin_ui: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        html = admin_ui.get(path).text
        assert not re.search(r"https?://", html), (path, html)
        for asset in re.findall(r"""(?:src|href)=["']([^"']+)["']""", html):
            assert admin_ui.get(asset).status_code == 200, asset
