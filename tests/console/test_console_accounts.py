"""Console users: sign-in and sign-out, the session cookie, CSRF on every form, throttling per
account and per address, invitation and reset links, roles, and organizations kept apart."""

from __future__ import annotations

import io
import re
import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from api.app import create_app
from api.db import transaction
from api.models import LoginFailure, ServiceSecret, User
from api.settings import Settings
from matcher.cli import main
from tests.api.conftest import make_settings
from tests.console.conftest import PASSWORD, World

LINK = re.compile(r'<code id="new-link">([^<]+)</code>')


def user_count(app: Any) -> int:
    with transaction(app.state.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(User)) or 0)


@pytest.mark.database_independent
def test_sign_in_sets_a_signed_httponly_samesite_cookie_and_sign_out_ends_it(
    world: World,
) -> None:
    console = world.console(None)
    answer = console.sign_in("ca")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert "volmatch_session=" in cookie and "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert console.get("/team").status_code == 200
    stolen = dict(console.client.cookies)
    assert console.post("/logout").status_code == 303
    # the old cookie, replayed after sign-out, opens nothing: the session is gone server-side
    replay = TestClient(world.app, follow_redirects=False, cookies=stolen)
    answer = replay.get("/team")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


@pytest.mark.database_independent
def test_wrong_password_and_unknown_login_read_alike(world: World) -> None:
    console = world.console(None)
    wrong = console.sign_in("ca", "not the password")
    unknown = console.sign_in("nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "登录名或密码错误" in wrong.text and "登录名或密码错误" in unknown.text


@pytest.mark.database_independent
def test_pages_need_a_session(world: World) -> None:
    anonymous = world.console(None)
    answer = anonymous.get("/team")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fteam"
    htmx = anonymous.get("/team", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].startswith("/login")


@pytest.mark.database_independent
def test_every_post_needs_the_csrf_token(world: World) -> None:
    console = world.console("ca")
    before = user_count(world.app)
    body = {"login": "new.person", "display_name": "New", "role": "coordinator"}
    missing = console.client.post("/team/users", data=body)
    wrong = console.client.post("/team/users", data={**body, "csrf_token": "forged"})
    header = console.client.post("/team/users", data=body, headers={"X-CSRF-Token": "forged"})
    assert missing.status_code == wrong.status_code == header.status_code == 403
    assert user_count(world.app) == before
    # another session's token does not fit this one
    other = world.console("cb")
    foreign = console.client.post("/team/users", data={**body, "csrf_token": other.csrf("/team")})
    assert foreign.status_code == 403 and user_count(world.app) == before
    # the token as a header (htmx) or as a field both pass
    token = console.csrf("/team")
    created = console.client.post("/team/users", data=body, headers={"X-CSRF-Token": token})
    assert created.status_code == 200, created.text[-1500:]
    assert user_count(world.app) == before + 1
    # sign-in itself is protected against forged logins
    fresh = world.console(None)
    forged = fresh.client.post("/login", data={"login": "ca", "password": PASSWORD})
    assert forged.status_code == 403


@pytest.mark.database_independent
def test_sign_in_is_throttled_per_account(world: World, settings: Settings) -> None:
    console = world.console(None)
    for _ in range(settings.login_max_failures_per_account):
        assert console.sign_in("ca", "wrong password").status_code == 401
    held = console.sign_in("ca", PASSWORD)  # even the right password waits
    assert held.status_code == 429 and "登录失败次数过多" in held.text
    assert console.sign_in("cb", PASSWORD).status_code == 303  # other accounts are not held


@pytest.mark.database_independent
def test_sign_in_is_throttled_per_address(database_url: str) -> None:
    limit = 4
    app = create_app(make_settings(database_url, login_max_failures_per_address=limit))
    world = World(app)
    console = world.console(None)
    for i in range(limit):
        assert console.sign_in(f"guess{i}", "wrong password").status_code == 401
    assert console.sign_in("ca", PASSWORD).status_code == 429
    with transaction(app.state.sessions) as session:
        stored = [row.key_hash for row in session.scalars(select(LoginFailure))]
    assert stored and all("guess" not in k and "testclient" not in k for k in stored)


def test_invitation_link_sets_the_first_password_once(world: World) -> None:
    coordinator = world.console("ca")
    answer = coordinator.post(
        "/team/users", {"login": "Li.Na", "display_name": "李娜", "role": "viewer"}
    )
    assert answer.status_code == 200
    link = LINK.search(answer.text)
    assert link, answer.text
    path = "/" + link.group(1).split("/", 3)[3]
    newcomer = world.console(None)
    assert newcomer.sign_in("li.na", "anything at all").status_code == 401  # no password yet
    page = newcomer.get(path)
    assert page.status_code == 200 and "li.na" in page.text
    token = newcomer.csrf(path)
    short = newcomer.client.post(
        path, data={"csrf_token": token, "password": "short", "confirm": "short"}
    )
    assert short.status_code == 422 and "至少 10 个字符" in short.text
    differ = newcomer.client.post(
        path, data={"csrf_token": token, "password": "a long password", "confirm": "another one!"}
    )
    assert differ.status_code == 422 and "两次输入的密码不一致" in differ.text
    done = newcomer.client.post(
        path,
        data={"csrf_token": token, "password": "a long password", "confirm": "a long password"},
    )
    assert done.status_code == 200
    assert newcomer.get(path).status_code == 404  # used once
    assert newcomer.sign_in("li.na", "a long password").status_code == 303
    with transaction(world.app.state.sessions) as session:
        user = session.scalars(select(User).where(User.login == "li.na")).one()
        assert user.password_hash and user.password_hash.startswith("$argon2id$")
        assert user.role == "viewer"


def test_reset_link_replaces_the_password_and_ends_sessions(world: World) -> None:
    victim = world.console("cb")
    assert victim.get("/team").status_code == 200
    coordinator = world.console("admin")
    answer = coordinator.post(f"/team/users/{world.user_ids['cB']}/reset")
    path = "/" + LINK.search(answer.text).group(1).split("/", 3)[3]  # type: ignore[union-attr]
    assert path.startswith("/reset/")
    helper = world.console(None)
    token = helper.csrf(path)
    new = "a brand new password"
    assert (
        helper.client.post(
            path, data={"csrf_token": token, "password": new, "confirm": new}
        ).status_code
        == 200
    )
    assert victim.get("/team").status_code == 303  # the old session ended with the old password
    assert world.console(None).sign_in("cb").status_code == 401
    assert world.console(None).sign_in("cb", new).status_code == 303


@pytest.mark.database_independent
def test_viewers_cannot_change_anything(world: World) -> None:
    viewer = world.console("ca-viewer")
    assert viewer.get("/team").status_code == 200
    before = user_count(world.app)
    answer = viewer.post(
        "/team/users", {"login": "x.y.z", "display_name": "X", "role": "coordinator"}
    )
    assert answer.status_code == 403
    assert (
        viewer.post(f"/team/users/{world.user_ids['cA']}/role", {"role": "viewer"}).status_code
        == 403
    )
    assert user_count(world.app) == before
    assert "邀请用户" not in viewer.get("/team").text  # no button for what they may not do


@pytest.mark.database_independent
def test_coordinators_manage_only_their_own_organization(world: World) -> None:
    other = world.console("cb")
    target = world.user_ids["cA"]
    for action, body in (
        ("reset", {}),
        ("role", {"role": "viewer"}),
        ("disable", {"disabled": "yes"}),
    ):
        assert other.post(f"/team/users/{target}/{action}", body).status_code == 404
    assert world.console(None).sign_in("ca").status_code == 303  # untouched
    # a coordinator naming another organization still creates in their own
    answer = other.post(
        "/team/users",
        {
            "login": "sneaky",
            "display_name": "S",
            "role": "coordinator",
            "org_id": world.org_ids["cA"],
        },
    )
    assert answer.status_code == 200
    with transaction(world.app.state.sessions) as session:
        sneaky = session.scalars(select(User).where(User.login == "sneaky")).one()
        assert sneaky.organization_id == world.org_ids["cB"]


def test_a_disabled_user_is_signed_out_at_once(world: World) -> None:
    victim = world.console("ca-viewer")
    assert victim.get("/team").status_code == 200
    world.console("ca").post(
        f"/team/users/{world.user_ids['cA-viewer']}/disable", {"disabled": "yes"}
    )
    assert victim.get("/team").status_code == 303
    assert world.console(None).sign_in("ca-viewer").status_code == 401


@pytest.mark.database_independent
def test_language_is_chinese_by_default_english_by_choice(world: World) -> None:
    console = world.console(None)
    assert '<html lang="zh-CN"' in console.get("/login").text
    assert "登录" in console.get("/login").text
    english = console.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en"' in english.text and "Sign in" in english.text
    both = console.get("/login", headers={"Accept-Language": "fr, en;q=0.5, zh;q=0.8"})
    assert '<html lang="zh-CN"' in both.text
    switched = console.get("/lang/en?next=/login")
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    chosen = console.get("/login", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en"' in chosen.text  # the cookie wins over the browser's language
    assert console.get("/lang/en?next=https://evil.example/").headers["location"] == "/"


@pytest.mark.database_independent
def test_large_text_is_a_choice_that_sticks(world: World) -> None:
    console = world.console(None)
    assert 'class="large-text"' not in console.get("/login").text
    console.get("/text/large?next=/login")
    assert 'class="large-text"' in console.get("/login").text


def test_the_session_secret_is_generated_once_and_shared(database_url: str) -> None:
    first = create_app(make_settings(database_url))
    second = create_app(make_settings(database_url))
    with transaction(first.state.sessions) as session:
        stored = session.scalars(select(ServiceSecret)).all()
    assert len(stored) == 1 and len(stored[0].value) >= 40
    world = World(first)
    cookies = dict(world.console("ca").client.cookies)
    # a cookie signed by one process opens the pages of another process of the same database
    other = TestClient(second, follow_redirects=False, cookies=cookies)
    assert other.get("/team").status_code == 200
    # a configured secret is used instead, and the stored one's cookies no longer pass
    configured = create_app(
        make_settings(
            database_url, session_secret=SecretStr("a configured secret of forty-odd characters")
        )
    )
    third = TestClient(configured, follow_redirects=False, cookies=cookies)
    assert third.get("/team").status_code == 303


def test_create_user_command(tmp_path: Any, monkeypatch: Any, capsys: Any) -> None:
    monkeypatch.setenv("VOLMATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")

    def volmatch(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    _, out, _ = volmatch("admin", "create-org", "--name", "C", "--kind", "center")
    org_id = out.split()[1]
    code, out, _ = volmatch(
        "admin", "create-user", "--org-id", org_id, "--login", "wang.li", "--name", "王丽"
    )
    assert code == 0 and "/invite/" in out
    code, out, _ = volmatch(
        "admin", "create-user", "--org-id", org_id, "--login", "zhao.min", "--role", "viewer",
        "--password-stdin", stdin="a long enough password\n",
    )  # fmt: skip
    assert code == 0 and "viewer" in out and "invite" not in out
    code, _, err = volmatch("admin", "create-user", "--org-id", org_id, "--login", "wang.li")
    assert code == 1 and "taken" in err
    code, _, err = volmatch("admin", "create-user", "--org-id", "999", "--login", "someone")
    assert code == 1 and "no organization" in err
