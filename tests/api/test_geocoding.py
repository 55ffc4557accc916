"""Addresses instead of coordinates: the real geopy Nominatim client against a small fake
geocoder served on loopback; answers cached in the database; the rate limit respected."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.db import transaction
from api.models import GeocodeEntry, ServiceRequest
from api.settings import Settings
from tests.api.conftest import Api, assert_error
from tests.api.data import request, volunteer

PLACES = {
    "12 yanta road, xi'an": (34.2236, 108.9540),
    "1 beilin street, xi'an": (34.2500, 108.9400),
}


class FakeNominatim:
    """Answers /search like Nominatim for the addresses in PLACES; records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query).get("q", [""])[0]
                fake.calls.append((time.monotonic(), query))
                point = PLACES.get(" ".join(query.split()).casefold())
                body = (
                    []
                    if point is None
                    else [
                        {
                            "lat": str(point[0]),
                            "lon": str(point[1]),
                            "display_name": query,
                            "place_id": 1,
                        }
                    ]
                )
                data = json.dumps(body).encode()
                self.send_response(200 if url.path == "/search" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeNominatim:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def geocoder() -> Iterator[FakeNominatim]:
    with FakeNominatim() as fake:
        yield fake


@pytest.fixture
def geo_api(settings: Settings, geocoder: FakeNominatim) -> Iterator[Api]:
    on = settings.model_copy(
        update={
            "geocoder": "nominatim",
            "geocoder_domain": f"127.0.0.1:{geocoder.port}",
            "geocoder_scheme": "http",
            "geocoder_min_delay_s": 0.2,
        }
    )
    with TestClient(create_app(on)) as client:
        yield Api(client, on)


def without_location(row: dict, address: str) -> dict:  # type: ignore[type-arg]
    row = dict(row, address=address)
    del row["location"]
    return row


def test_addresses_are_geocoded_cached_and_rate_limited(
    geo_api: Api, geocoder: FakeNominatim
) -> None:
    _, center = geo_api.org("center")
    rows = [
        without_location(request("A"), "12 Yanta Road, Xi'an"),
        without_location(request("B"), "1 Beilin Street, Xi'an"),
        without_location(request("C"), "12  yanta road, xi'an"),  # same address, other spelling
    ]
    r = geo_api.client.post("/v1/requests", json=rows, headers=center)
    assert r.status_code == 201, r.text
    located = [x["location"] for x in r.json()["requests"]]
    assert located[0] == {"lat": 34.2236, "lon": 108.954} == located[2]
    assert located[1] == {"lat": 34.25, "lon": 108.94}
    assert len(geocoder.calls) == 2  # one call per distinct address
    gap = geocoder.calls[1][0] - geocoder.calls[0][0]
    assert gap >= 0.19  # geopy's RateLimiter kept the configured delay
    again = geo_api.client.post("/v1/requests", json=rows[:2], headers=center)
    assert again.status_code == 201 and len(geocoder.calls) == 2  # answered from the cache


@pytest.mark.database_independent
def test_unresolved_addresses_are_reported_per_row_and_nothing_is_written(
    geo_api: Api, geocoder: FakeNominatim
) -> None:
    _, uni = geo_api.org("university")
    rows = [
        without_location(volunteer("S1"), "12 Yanta Road, Xi'an"),
        without_location(volunteer("S2"), "Nowhere Lane 404"),
        volunteer("S3"),
    ]
    body = assert_error(geo_api.client.post("/v1/volunteers/import", json=rows, headers=uni), 422)
    assert body["fields"] == [
        {
            "loc": ["body", 1, "address"],
            "msg": "the address 'Nowhere Lane 404' could not be resolved; give location {lat, lon}",
        }
    ]
    with transaction(geo_api.sessions()) as session:
        assert session.scalar(select(func.count()).select_from(ServiceRequest)) == 0
        # every answer is cached, found or not, though the batch was rejected
        cached = {e.query: e.lat for e in session.scalars(select(GeocodeEntry))}
    assert cached == {"12 yanta road, xi'an": 34.2236, "nowhere lane 404": None}
    calls = len(geocoder.calls)
    rows[1] = volunteer("S2")
    assert geo_api.client.post("/v1/volunteers/import", json=rows, headers=uni).status_code == 200
    assert len(geocoder.calls) == calls


@pytest.mark.database_independent
def test_geocoding_off_asks_for_coordinates(api: Api) -> None:
    _, center = api.org("center")
    body = assert_error(
        api.client.post(
            "/v1/requests", json=[without_location(request(), "12 Yanta Road")], headers=center
        ),
        422,
    )
    assert body["fields"][0]["loc"] == ["body", 0, "location"]
    assert "geocoding" in body["fields"][0]["msg"]


@pytest.mark.database_independent
def test_an_unreachable_geocoder_is_a_clear_error_not_a_500(settings: Settings) -> None:
    off_line = settings.model_copy(
        update={
            "geocoder": "nominatim",
            "geocoder_domain": "127.0.0.1:1",
            "geocoder_scheme": "http",
            "geocoder_timeout_s": 1,
        }
    )
    with TestClient(create_app(off_line)) as client:
        api = Api(client, off_line)
        _, center = api.org("center")
        r = client.post(
            "/v1/requests", json=[without_location(request(), "12 Yanta Road")], headers=center
        )
        body = assert_error(r, 422)
        assert body["fields"][0]["loc"] == ["body", 0, "address"]
