"""Small, explicit test data in the API's input format."""

from __future__ import annotations

from typing import Any

DAY = "2026-03-03"  # a Tuesday
OFFSET = "+08:00"


def at(clock: str, day: str = DAY) -> str:
    return f"{day}T{clock}:00{OFFSET}"


def volunteer(external_id: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": external_id,
        "name": f"Name {external_id}",
        "phone": f"+86 100 0000 {external_id[-4:]:0>4}",
        "email": f"{external_id}@example.edu",
        "address": f"{external_id} Dorm Road",
        "location": {"lat": 34.25, "lon": 108.94},
        "skills": ["smartphone_teaching"],
        "languages": ["zh"],
        "availability": [{"start": at("08:00"), "end": at("20:00")}],
        "max_hours": 8,
    }
    body.update(fields)
    return body


def request(title: str = "Smartphone class", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": title,
        "location": {"lat": 34.251, "lon": 108.941},
        "district": "Yanta",
        "service_type": "smartphone_tutoring",
        "start": at("14:00"),
        "end": at("16:00"),
        "required_skills": ["smartphone_teaching"],
        "volunteers_needed": 1,
    }
    body.update(fields)
    return body


WINDOW = {"start": f"2026-03-02T00:00:00{OFFSET}", "end": f"2026-03-09T00:00:00{OFFSET}"}
