"""Great-circle distances, vectorised, and a spatial index for radius queries.

The distance is the one FORMAT.md names: geopy's `great_circle` on a sphere of radius
6371.009 km, written here over numpy arrays with the same formula (tests compare the two).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

EARTH_RADIUS_KM = 6371.009

FloatArray = NDArray[np.float64]


def great_circle_km(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> FloatArray:
    """Element-wise great-circle distance in km between (lat1, lon1) and (lat2, lon2), degrees."""
    phi1, lam1, phi2, lam2 = (
        np.radians(np.asarray(x, dtype=np.float64)) for x in (lat1, lon1, lat2, lon2)
    )
    sin1, cos1, sin2, cos2 = np.sin(phi1), np.cos(phi1), np.sin(phi2), np.cos(phi2)
    dlam = lam2 - lam1
    cos_d, sin_d = np.cos(dlam), np.sin(dlam)
    central = np.arctan2(
        np.sqrt((cos2 * sin_d) ** 2 + (cos1 * sin2 - sin1 * cos2 * cos_d) ** 2),
        sin1 * sin2 + cos1 * cos2 * cos_d,
    )
    return np.asarray(EARTH_RADIUS_KM * central, dtype=np.float64)


def unit_vectors(lat: ArrayLike, lon: ArrayLike) -> FloatArray:
    """Points on the unit sphere, shape (n, 3), for chord-distance radius queries."""
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))


def chord_for_km(km: ArrayLike) -> FloatArray:
    """Chord length on the unit sphere spanning an arc of `km`, slightly widened so that
    rounding never drops a point that lies exactly at the radius."""
    arc = np.minimum(np.asarray(km, dtype=np.float64) / EARTH_RADIUS_KM, np.pi)
    return np.asarray(2.0 * np.sin(arc / 2.0) * (1 + 1e-9) + 1e-12, dtype=np.float64)


class SphereIndex:
    """A k-d tree over points on the unit sphere, answering 'which points lie within r km'."""

    def __init__(self, lat: ArrayLike, lon: ArrayLike) -> None:
        self._tree = cKDTree(unit_vectors(lat, lon))

    def nearest(
        self, lat: ArrayLike, lon: ArrayLike, k: int, radius_km: float
    ) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """For each query point, its `k` nearest indexed points within `radius_km`: (indices,
        shape (n, k), -1 where fewer exist; the arc distance in km of the k-th nearest, a lower
        bound on the distance of every point not returned)."""
        chord, idx = self._tree.query(
            unit_vectors(lat, lon), k=k, distance_upper_bound=float(chord_for_km(radius_km))
        )
        chord, idx = np.asarray(chord).reshape(-1, k), np.asarray(idx).reshape(-1, k)
        missing = ~np.isfinite(chord)
        idx = np.where(missing, -1, idx)
        last = np.where(np.isfinite(chord[:, -1]), chord[:, -1], 2.0)
        arc_km = 2.0 * np.arcsin(np.minimum(last / 2.0, 1.0)) * EARTH_RADIUS_KM
        return idx.astype(np.intp), np.asarray(arc_km * (1 - 1e-9), dtype=np.float64)

    def within(self, lat: ArrayLike, lon: ArrayLike, radius_km: float) -> list[NDArray[np.intp]]:
        """For each query point, the indices of indexed points within `radius_km` (a superset;
        callers filter by exact distance)."""
        queries = unit_vectors(lat, lon)
        found = self._tree.query_ball_point(
            queries, r=float(chord_for_km(radius_km)), return_sorted=False
        )
        return [np.asarray(ids, dtype=np.intp) for ids in found]
