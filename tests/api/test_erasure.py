"""Erasing a volunteer: personal data go, completed hours stay (under a pseudonymous id)."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.api.data import volunteer
from tests.api.test_assignments import assignments, published
from tests.api.test_match_runs import setup_week

RANGE = {"from": "2026-03-01T00:00:00+08:00", "to": "2026-04-01T00:00:00+08:00"}


def test_deleting_a_volunteer_keeps_their_completed_hours(api: Api) -> None:
    """The data-loss bug: a completed assignment's hours vanished from the hours report when its
    volunteer was deleted."""
    uni, center, _, _ = setup_week(api, volunteers=1, requests=1)
    published(api, center)
    (a,) = assignments(api, center)
    assert api.client.post(f"/v1/assignments/{a['id']}/confirm", headers=uni).status_code == 200
    assert api.client.post(f"/v1/assignments/{a['id']}/check-in", headers=center).status_code == 200
    done = api.client.post(
        f"/v1/assignments/{a['id']}/complete", json={"hours_served": 2.5}, headers=center
    )
    assert done.status_code == 200, done.text
    before = api.client.get("/v1/reports/hours", params=RANGE, headers=uni).json()
    assert before["universities"][0]["hours"] == 2.5
    assert api.client.delete(f"/v1/volunteers/{a['volunteer_id']}", headers=uni).status_code == 204
    after = api.client.get("/v1/reports/hours", params=RANGE, headers=uni).json()
    assert after["universities"][0]["hours"] == 2.5
    assert [v["hours"] for v in after["volunteers"]] == [2.5]
    assert volunteer("S0000")["name"] not in str(after)
