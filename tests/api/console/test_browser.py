"""The console in a real browser: Playwright for Python driving Debian's chromium.

Skips, saying why, where chromium or playwright is absent (``apt-get install chromium``;
``scripts/install --dev`` brings playwright). Playwright's own browser download is never used:
``executable_path`` points at the system chromium. Each page's screenshot goes to the test's
temporary folder, or to ``MEMSVC_CONSOLE_SCREENSHOTS`` when set: the ones in ``docs/console/``
come from ``MEMSVC_CONSOLE_SCREENSHOTS=docs/console scripts/test tests/api/console``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.console.conftest import seed
from api.live import ADMIN_KEY, Live, start_live
from memsvc.errors import MemoryNotFound

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> Iterator[Live]:
    for live in start_live(tmp_path_factory, template_db):
        seed(live.service)
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as play:
        browser = play.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("MEMSVC_CONSOLE_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_console_in_a_browser_login_timeline_search_delete(
    served: Live, browser: Any, shots: Path
) -> None:
    def _shot(page: Any, name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    # every request leaves for this server only; one that a page's bundle aims elsewhere (ReDoc
    # links its vendor's logo) must be stopped by the Content-Security-Policy, not sent
    external: list[str] = []
    blocked: list[str] = []
    local = (served.base_url, "blob:", "data:")
    page.on("request", lambda r: None if r.url.startswith(local) else external.append(r.url))
    page.on(
        "requestfailed",
        lambda r: (
            blocked.append(r.url)
            if (r.failure or "") in ("csp", "net::ERR_BLOCKED_BY_CSP")
            else None
        ),
    )
    page.on("dialog", lambda dialog: dialog.accept())

    # log in with a key
    page.goto(f"{served.base_url}/ui/users/alice")
    assert page.url.endswith("/ui/login?next=/ui/users/alice")
    _shot(page, "login")
    page.fill("input[name=api_key]", ADMIN_KEY)
    page.click("button[type=submit]")
    page.wait_for_url("**/ui/users/alice")

    # find the fact and see it superseded on the timeline
    berlin = page.locator(".fact", has_text="Berlin")
    assert berlin.get_attribute("data-status") == "superseded"
    assert "superseded by" in berlin.inner_text()
    assert page.locator(".fact", has_text="Paris").get_attribute("data-status") == "active"
    _shot(page, "facts-timeline")
    page.fill("input[name=as_of]", "2023-04-01")
    page.click("form.toolbar button[type=submit]")
    page.wait_for_url("**as_of=2023-04-01")
    assert "then" in (page.locator(".fact", has_text="Berlin").get_attribute("class") or "")
    assert "dim" in (page.locator(".fact", has_text="Paris").get_attribute("class") or "")
    _shot(page, "facts-as-of")

    for tab, name in (("Episodes", "episodes"), ("Summaries", "summaries"), ("MemTree", "tree")):
        page.click(f"nav.tabs >> text={tab}")
        page.wait_for_load_state()
        _shot(page, name)
    page.click("button[data-tree=close]")
    assert page.locator("#tree details[open]").count() == 0

    # search, with score parts and provenance
    page.goto(f"{served.base_url}/ui/search?user_id=alice")
    page.fill("input[name=q]", "Where does Alice live?")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#hits li")
    assert page.locator("#hits li table.parts").count() >= 1
    assert "Paris" in page.locator("#hits").inner_text()
    _shot(page, "search")

    # delete with confirmation, and see it gone
    page.goto(f"{served.base_url}/ui/users/alice")
    page.locator(".fact", has_text="Paris").locator("a").first.click()
    page.wait_for_url("**/ui/memories/fact_*")
    fact_id = page.url.rsplit("/", 1)[1]
    _shot(page, "memory-history")
    page.click("text=Delete…")
    _shot(page, "delete-confirm")
    page.click("button.danger")
    page.wait_for_url("**/ui/users/alice?flash=*")
    assert f"deleted {fact_id}" in page.locator(".flash").inner_text()
    assert page.locator(".fact", has_text="Paris").count() == 0
    with pytest.raises(MemoryNotFound):
        served.service.get(fact_id)

    for path, name in (
        ("/ui", "overview"),
        ("/ui/operations?verify=1", "operations"),
        ("/ui/prune?preview=1&older_than_days=0", "prune"),
        ("/ui/entities", "entities"),
        ("/docs", "docs"),
        ("/redoc", "redoc"),
    ):
        page.goto(f"{served.base_url}{path}")
        page.wait_for_load_state("networkidle")
        _shot(page, name)
    assert page.locator("text=memsvc").first.is_visible()
    assert [url for url in external if url not in blocked] == []
    context.close()
