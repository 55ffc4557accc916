"""Addresses to coordinates with geopy, behind a database cache and the geocoder's rate limit.

Off by default (`VOLMATCH_GEOCODER=off`): rows without a location are then rejected with a
message that asks for coordinates. With `nominatim`, each address not yet in the cache is asked
once, at most one call per `geocoder_min_delay_s` (geopy's RateLimiter), and every answer, found
or not, is cached. The cache is written in its own short transaction, so that answers survive a
batch that is rejected for another reason (they are not the batch's data).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.db import transaction
from api.errors import FieldError, Loc
from api.repositories import caches
from api.settings import Settings
from matcher.model import Location

log = logging.getLogger("volmatch.geocoding")


def normalise(address: str) -> str:
    return re.sub(r"\s+", " ", address.strip()).casefold()


class Geocoder:
    """Resolves addresses for the service; one per process (the rate limit is per process)."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.enabled = settings.geocoder != "off"
        self._sessions = sessions
        self._lock = threading.Lock()
        self._geocode: Callable[..., Any] | None = None
        if self.enabled:
            client = Nominatim(
                domain=settings.geocoder_domain,
                scheme=settings.geocoder_scheme,
                user_agent=settings.geocoder_user_agent,
                timeout=settings.geocoder_timeout_s,
            )
            self._geocode = RateLimiter(
                client.geocode,
                min_delay_seconds=settings.geocoder_min_delay_s,
                max_retries=1,
                error_wait_seconds=settings.geocoder_min_delay_s,
                swallow_exceptions=False,
            )

    def locate(self, session: Session, addresses: Iterable[str]) -> dict[str, Location | None]:
        """Each address's location, or None where the geocoder found none (or failed)."""
        wanted = list(addresses)
        by_query: dict[str, str] = {}
        for address in wanted:
            by_query.setdefault(normalise(address), address)
        cached = caches.cached_geocodes(session, by_query)
        answers: dict[str, tuple[float, float] | None] = {
            q: (e.lat, e.lon) if e.lat is not None and e.lon is not None else None
            for q, e in cached.items()
        }
        fresh = [q for q in by_query if q not in answers]
        if fresh and self._geocode is not None:
            answers.update(self._ask(fresh, by_query))
        located: dict[str, Location | None] = {}
        for address in wanted:
            point = answers.get(normalise(address))
            located[address] = None if point is None else Location(lat=point[0], lon=point[1])
        return located

    def _ask(
        self, queries: list[str], by_query: dict[str, str]
    ) -> dict[str, tuple[float, float] | None]:
        assert self._geocode is not None
        learned: dict[str, tuple[float, float] | None] = {}
        unanswered: list[str] = []
        with self._lock:  # one caller at a time keeps the rate limit process-wide
            for query in queries:
                try:
                    found = self._geocode(by_query[query], exactly_one=True)
                except GeopyError as exc:
                    # Not an answer: leave it uncached so that a later batch asks again.
                    log.warning("geocoder failed (%s)", type(exc).__name__)
                    unanswered.append(query)
                    continue
                learned[query] = (found.latitude, found.longitude) if found is not None else None
        try:
            with transaction(self._sessions) as cache_session:
                known = caches.cached_geocodes(cache_session, learned)
                for query, point in learned.items():
                    if query not in known:
                        caches.add_geocode(cache_session, query, *(point or (None, None)))
        except IntegrityError:
            pass  # another process cached the same address meanwhile: its answer stands
        for query in unanswered:
            learned[query] = None
        return learned


def locate_rows(
    session: Session,
    geocoder: Geocoder,
    locations: Sequence[Location | None],
    addresses: Sequence[str | None],
    row_loc: Callable[[int, str], Loc],
) -> tuple[list[Location | None], list[FieldError]]:
    """Complete the rows' locations from their addresses; name each row left without one."""
    located = list(locations)
    missing = [i for i, loc in enumerate(located) if loc is None]
    if not missing:
        return located, []
    problems: list[FieldError] = []
    if not geocoder.enabled:
        for i in missing:
            problems.append(
                FieldError(
                    loc=row_loc(i, "location"),
                    msg="no location: give location {lat, lon} "
                    "(geocoding of addresses is off on this service)",
                )
            )
        return located, problems
    found = geocoder.locate(session, [a for i in missing if (a := addresses[i])])
    for i in missing:
        address = addresses[i]
        point = found.get(address) if address else None
        if point is not None:
            located[i] = point
        elif address:
            problems.append(
                FieldError(
                    loc=row_loc(i, "address"),
                    msg=f"the address {address!r} could not be resolved; give location {{lat, lon}}",
                )
            )
        else:
            problems.append(
                FieldError(
                    loc=row_loc(i, "location"),
                    msg="no location: give location {lat, lon} or an address",
                )
            )
    return located, problems
