"""Browser tests: the real service (`volmatch serve`, with its solving process and its
dispatcher, over SQLite) on a free loopback port, driven by Playwright through Debian's chromium
by its path (never a downloaded browser; `make system-packages` installs it). Email goes to a
real SMTP server on loopback (aiosmtpd), so volunteers' stories start from the link in their
message. Pages are in Chinese, as users see them; screenshots of the main pages go to
docs/console/ (shown in docs/console.md)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.db import make_engine, make_sessionmaker, migrate, transaction
from api.models import UserRole
from api.services import organizations, users
from api.services.audit import Actor
from benchmarks.pg import free_port
from benchmarks.sinks import SmtpSink

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ROOT = Path(__file__).resolve().parents[3]
SHOTS = ROOT / "docs" / "console"
PASSWORD = "volmatch-demo-2026"
# (login, display name, organization key)
PEOPLE = (
    ("wang.li", "王丽", "center"),
    ("zhao.qiang", "赵强", "other_center"),
    ("chen.jing", "陈静", "university"),
    ("liu.yang", "刘洋", "planner"),
    ("admin", "系统管理员", "admin"),
)
ORGANIZATIONS = {
    "center": ("雁塔区小雁塔社区志愿服务站", "center"),
    "other_center": ("碑林区南院门社区志愿服务站", "center"),
    "university": ("西北大学青年志愿者协会", "university"),
    "planner": ("市民政局规划处", "planner"),
    "admin": ("市志愿服务中心", "admin"),
}

# Pages on a 2-core machine shared with other work have taken over 30 s to load.
TIMEOUT_MS = 60_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")


class Server:
    def __init__(
        self, url: str, database_url: str, org_ids: dict[str, int], mail: SmtpSink
    ) -> None:
        self.url = url
        self.database_url = database_url
        self.org_ids = org_ids
        self.mail = mail  # every email the service sent
        self.sessions = make_sessionmaker(make_engine(database_url))


@pytest.fixture(scope="session")
def mail() -> Iterator[SmtpSink]:
    with SmtpSink(free_port()) as sink:
        yield sink


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, mail: SmtpSink) -> Iterator[Server]:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium")
    folder = tmp_path_factory.mktemp("browser")
    database_url = f"sqlite:///{folder / 'volmatch.db'}"
    engine = make_engine(database_url)
    migrate(engine)
    org_ids: dict[str, int] = {}
    with transaction(make_sessionmaker(engine)) as session:
        for key, (name, kind) in ORGANIZATIONS.items():
            org, _, _ = organizations.create_organization(
                session, name, kind, "Asia/Shanghai", actor=Actor.system("cli")
            )
            org_ids[key] = org.id
        for login, name, key in PEOPLE:
            users.create_user(
                session, None, org_ids[key], login, name, UserRole.COORDINATOR, PASSWORD
            )
    engine.dispose()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "VOLMATCH_DATABASE_URL": database_url,
        "VOLMATCH_WORKER_POLL_S": "0.2",
        "VOLMATCH_HEARTBEAT_S": "0.5",
        # the volunteer loop: links in messages lead here; email to the test's SMTP server;
        # webhooks may point at loopback; failing deliveries give up fast
        "VOLMATCH_PUBLIC_URL": url,
        "VOLMATCH_LINK_SECRET": "a link secret for the browser tests",
        "VOLMATCH_SMTP_HOST": "127.0.0.1",
        "VOLMATCH_SMTP_PORT": str(mail.port),
        "VOLMATCH_SMTP_SECURITY": "none",
        "VOLMATCH_SMTP_FROM": "notice@volunteer.example.cn",
        "VOLMATCH_DISPATCHER_POLL_S": "0.2",
        "VOLMATCH_WEBHOOK_ALLOW_PRIVATE": "true",
        "VOLMATCH_RETRY_BASE_S": "0.1",
        "VOLMATCH_RETRY_MAX_S": "0.2",
        "VOLMATCH_DELIVERY_MAX_ATTEMPTS": "2",
    }
    volmatch = Path(sys.executable).parent / "volmatch"
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [str(volmatch), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError((folder / "server.log").read_text())
        time.sleep(0.3)
    else:
        process.kill()
        raise RuntimeError("the service did not start")
    try:
        yield Server(url, database_url, org_ids, mail)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def sign_in(browser: Any, server: Server, login: str, **options: Any) -> Any:
    """A new browser context (Chinese, desktop size unless told) signed in as `login`."""
    context = browser.new_context(
        base_url=server.url,
        locale="zh-CN",
        viewport=options.pop("viewport", {"width": 1360, "height": 900}),
        accept_downloads=True,
        **options,
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.fill("#f-login", login)
    page.fill("#f-password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def shot(page: Any, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)
