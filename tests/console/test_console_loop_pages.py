"""The console's pages for the volunteer loop, without a browser: the board's no-shows (marked
once the work has started, counted in the show rate shown beside the volunteer) and its own
refresh; publishing with a number of standby and each request's standby list; the settings of
a center and of a university (errors beside the fields, nothing saved on a bad form); webhooks
(the secret shown once, rotated, removed) and deliveries (filtered; dead letters sent again)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from pwdlib import PasswordHash
from sqlalchemy import select

from api.db import transaction
from api.models import MatchRun, UserRole, Webhook
from api.services import users
from benchmarks.pg import free_port
from tests.api.conftest import Api
from tests.api.notify import (
    deliver_until,
    deliveries,
    dispatcher,
    events_of,
    loop_api,
    publish_soon,
    run_window,
    soon_week,
)
from tests.console.conftest import PASSWORD, Console

_HASH: list[str] = []


@dataclass
class Desk:
    """A center and a university of the loop, each with a coordinator at the console."""

    api: Api
    uni: dict[str, str]
    center: dict[str, str]
    uni_id: int
    center_id: int
    coordinator: Console  # the center's
    association: Console  # the university's


def sign_in(api: Api, org_id: int, login: str) -> Console:
    if not _HASH:
        _HASH.append(PasswordHash.recommended().hash(PASSWORD))
    with transaction(api.sessions()) as session:
        user = users.create_user(session, None, org_id, login, login, UserRole.COORDINATOR)
        user.password_hash = _HASH[0]
    return Console(api.app, login)


@contextmanager
def desk(
    database_url: str, starts_in: list[timedelta], volunteers: int = 1, **settings: Any
) -> Iterator[Desk]:
    with loop_api(database_url, **settings) as api:
        uni, center, uni_id, center_id, _ = soon_week(
            api, starts_in, volunteers=volunteers, hours=2
        )
        yield Desk(
            api, uni, center, uni_id, center_id,
            sign_in(api, center_id, "wang.li"), sign_in(api, uni_id, "chen.jing"),
        )  # fmt: skip


def card(page: str, assignment_id: int) -> str:
    found = re.search(
        rf'<article class="card" id="assignment-{assignment_id}">(.*?)</article>', page, re.S
    )
    assert found, assignment_id
    return found.group(1)


def column(page: str, status: str) -> str:
    found = re.search(
        rf'<section class="board-column" id="column-{status}"(.*?)</section>', page, re.S
    )
    assert found, status
    return found.group(1)


def test_the_board_marks_no_shows_once_the_work_has_started(database_url: str) -> None:
    started, coming = timedelta(minutes=-30), timedelta(days=2)
    with desk(database_url, [started, coming]) as d:
        links = sorted(
            publish_soon(d.api, d.center, [started, coming])["links"], key=lambda x: x["request_id"]
        )
        for link in links:
            r = d.api.client.post(f"/v1/assignments/{link['assignment_id']}/confirm", headers=d.uni)
            assert r.status_code == 200
        late, later = (link["assignment_id"] for link in links)
        board = d.coordinator.get("/center/board").text
        assert "缺席" in column(board, "no_show")
        assert "/no-show" in card(board, late)  # started: may be marked
        assert "/no-show" not in card(board, later)  # not yet begun
        assert "暂无到场记录" in card(board, late)
        assert 'hx-trigger="every 20s' in board  # answers show up while the board is open
        marked = d.coordinator.post(f"/center/assignments/{late}/no-show")
        assert marked.status_code == 303
        assert [e.data["assignment_id"] for e in events_of(d.api, "assignment.no_show")] == [late]
        board = d.coordinator.get("/center/board").text
        assert f'id="assignment-{late}"' in column(board, "no_show")
        assert "迟到，签到" in card(board, late)
        # the show rate beside the volunteer, on their other work (0 of 1)
        assert "到场率 0%" in card(board, later) and "(0/1)" in card(board, later)
        assert "到场率 0%" in d.association.get("/university/assignments?status=confirmed").text
        # a no-show cannot be marked twice; the late arrival is checked in
        assert d.coordinator.post(f"/center/assignments/{late}/no-show").status_code == 409
        assert d.coordinator.post(f"/center/assignments/{late}/check-in").status_code == 303
        assert f'id="assignment-{late}"' in column(
            d.coordinator.get("/center/board").text, "checked_in"
        )


def _succeeded_run(d: Desk, starts_in: list[timedelta]) -> int:
    run = d.api.client.post(
        "/v1/match-runs",
        json={"window": run_window(starts_in), "engine": "greedy", "time_limit_s": 2},
        headers=d.center,
    )
    assert run.status_code == 202, run.text
    d.api.solve_queued()
    return int(run.json()["id"])


def test_publish_with_standby_and_each_requests_standby_list(database_url: str) -> None:
    day = [timedelta(days=2)]
    with desk(database_url, day, volunteers=3) as d:
        run_id = _succeeded_run(d, day)
        page = d.coordinator.get(f"/center/runs/{run_id}").text
        assert 'name="standby_per_request"' in page and 'value="0"' in page  # the setting's
        bad = d.coordinator.post(f"/center/runs/{run_id}/publish", {"standby_per_request": "11"})
        assert bad.status_code == 422
        assert re.search(r'id="standby_per_request-error">不能大于 10', bad.text)
        with transaction(d.api.sessions()) as session:
            run = session.get(MatchRun, run_id)
            assert run is not None and run.published_at is None
        done = d.coordinator.post(f"/center/runs/{run_id}/publish", {"standby_per_request": "2"})
        assert done.status_code == 200
        assert "为 1 项需求指定了 2 名候补" in done.text
        assert "http://127.0.0.1:8000/v/" in done.text  # the volunteers' page links
        request_id = d.api.client.get("/v1/requests", headers=d.center).json()["items"][0]["id"]
        standby = d.coordinator.get(f"/center/requests/{request_id}/standby")
        assert standby.status_code == 200
        rows = re.findall(r"<tr>\s*<td class=\"num\">(\d)</td>", standby.text)
        assert rows == ["1", "2"] and standby.text.count("等待中") == 2
        assert "/center/requests/" in d.coordinator.get("/center/requests").text


@pytest.mark.database_independent
def test_center_and_university_settings(database_url: str) -> None:
    with desk(database_url, [timedelta(days=2)]) as d:
        page = d.coordinator.get("/settings").text
        assert "每项需求的候补人数" in page and "签到时限" in page
        assert "允许志愿者自己修改" not in page  # a university's setting
        before = d.api.client.get(
            f"/v1/organizations/{d.center_id}/settings", headers=d.center
        ).json()
        bad = d.coordinator.post(
            "/settings",
            {"contact_name": "王老师", "standby_per_request": "11", "no_show_after_min": "0",
             "auto_promote_standby": "yes"},
        )  # fmt: skip
        assert bad.status_code == 422
        assert re.search(r'id="standby_per_request-error">不能大于 10', bad.text)
        assert re.search(r'id="no_show_after_min-error">不能小于 1', bad.text)
        assert 'value="王老师"' in bad.text  # what was typed stays
        after = d.api.client.get(
            f"/v1/organizations/{d.center_id}/settings", headers=d.center
        ).json()
        assert after == before
        saved = d.coordinator.post(
            "/settings",
            {"contact_name": "王老师", "contact_phone": "029-8888 0000", "standby_per_request": "2",
             "no_show_after_min": "", "auto_repair": "yes"},
        )  # fmt: skip
        assert saved.status_code == 303 and saved.headers["location"] == "/settings?saved=1"
        assert "设置已保存" in d.coordinator.get("/settings?saved=1").text
        chosen = d.api.client.get(
            f"/v1/organizations/{d.center_id}/settings", headers=d.center
        ).json()
        assert chosen["contact_name"] == "王老师" and chosen["contact_phone"] == "029-8888 0000"
        assert chosen["standby_per_request"] == 2 and chosen["no_show_after_min"] is None
        assert chosen["auto_repair"] is True and chosen["auto_promote_standby"] is False
        # a university: its own setting only
        page = d.association.get("/settings").text
        assert "允许志愿者自己修改每周的空闲时间" in page and "签到时限" not in page
        assert d.association.post("/settings", {"volunteers_edit_availability": "yes",
                                                "standby_per_request": "3"}).status_code == 303  # fmt: skip
        chosen = d.api.client.get(f"/v1/organizations/{d.uni_id}/settings", headers=d.uni).json()
        assert chosen["volunteers_edit_availability"] is True and chosen["standby_per_request"] == 0


@pytest.mark.database_independent
def test_webhooks_secret_shown_once_rotated_removed(database_url: str) -> None:
    with desk(database_url, [timedelta(days=2)], webhook_allow_private=False) as d:
        bad = d.coordinator.post("/webhooks", {"url": "ftp://example.org/x"})
        assert bad.status_code == 422 and re.search(r'id="url-error">', bad.text)
        private = d.coordinator.post("/webhooks", {"url": "http://127.0.0.1:9/x"})
        assert private.status_code == 422 and 'id="url-error"' in private.text
        unknown = d.coordinator.post(
            "/webhooks", {"url": "https://1.1.1.1/x", "event_types": "no.such"}
        )
        assert unknown.status_code == 422 and 'id="event_types-error"' in unknown.text
        with transaction(d.api.sessions()) as session:
            assert session.scalars(select(Webhook)).all() == []
        made = d.coordinator.post(
            "/webhooks", {"url": "https://1.1.1.1/volmatch", "event_types": "assignment.declined"}
        )
        assert made.status_code == 200
        secret = re.search(r'id="webhook-secret">(whsec_[^<]+)<', made.text)
        assert secret
        listed = d.coordinator.get("/webhooks").text
        assert "https://1.1.1.1/volmatch" in listed and "志愿者已婉拒" in listed
        assert secret.group(1) not in listed  # shown once
        with transaction(d.api.sessions()) as session:
            (hook,) = session.scalars(select(Webhook)).all()
            hook_id = hook.id
        rotated = d.coordinator.post(f"/webhooks/{hook_id}/secret")
        new = re.search(r'id="webhook-secret">(whsec_[^<]+)<', rotated.text)
        assert new and new.group(1) != secret.group(1)
        with transaction(d.api.sessions()) as session:
            stored = session.get(Webhook, hook_id)
            assert stored is not None and stored.secret == new.group(1)
        # another organization's webhook: not theirs to rotate or remove
        assert d.association.post(f"/webhooks/{hook_id}/secret").status_code == 404
        assert d.association.post(f"/webhooks/{hook_id}/delete").status_code == 404
        assert d.coordinator.post(f"/webhooks/{hook_id}/delete").status_code == 303
        assert "https://1.1.1.1/volmatch" not in d.coordinator.get("/webhooks").text


def test_deliveries_filtered_and_dead_letters_sent_again(database_url: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}/hook"  # nobody listens: every attempt fails
    day = [timedelta(days=2)]
    with desk(database_url, day, delivery_max_attempts=1) as d:
        d.coordinator.post("/webhooks", {"url": closed, "event_types": "run.succeeded"})
        publish_soon(d.api, d.center, day)
        sender = dispatcher(d.api)
        deliver_until(
            sender,
            lambda: all(x.status in ("dead", "skipped", "delivered") for x in deliveries(d.api)),
        )
        (dead,) = [x for x in deliveries(d.api) if x.status == "dead"]
        page = d.coordinator.get("/deliveries?status=dead").text
        row = re.search(rf'<tr id="delivery-{dead.id}">(.*?)</tr>', page, re.S)
        assert row and "匹配运行完成" in row.group(1) and "最终失败" in row.group(1)
        assert "重新发送" in row.group(1)
        assert (
            f'id="delivery-{dead.id}"' not in d.coordinator.get("/deliveries?status=delivered").text
        )
        assert f'id="delivery-{dead.id}"' in d.coordinator.get("/deliveries?channel=webhook").text
        assert f'id="delivery-{dead.id}"' not in d.coordinator.get("/deliveries?channel=email").text
        # the university does not see the center's webhook's messages
        assert f'id="delivery-{dead.id}"' not in d.association.get("/deliveries").text
        again = d.coordinator.post(f"/deliveries/{dead.id}/retry")
        assert again.status_code == 303
        (retried,) = [x for x in deliveries(d.api) if x.id == dead.id]
        assert retried.status == "pending" and retried.attempts == 0
        assert (
            f"消息 #{dead.id} 已重新排队发送" in d.coordinator.get(again.headers["location"]).text
        )
        # only dead letters are sent again
        assert d.coordinator.post(f"/deliveries/{dead.id}/retry").status_code == 409
