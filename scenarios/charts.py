"""The reports' charts, drawn with matplotlib's Agg canvas (no screen, no pyplot state).

Each function draws one PNG from KPIs or plans and returns nothing; the report decides file
names. Maps show points only (places of volunteers and requests), never who they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from matcher import Instance, Plan

from .generate import KM_PER_DEGREE, Places
from .kpis import SCALAR_KPIS, Kpis, hours_by_volunteer

__all__ = [
    "coverage_by_service",
    "hours_distribution",
    "plan_map",
    "sweep_lines",
    "travel_distribution",
    "unfilled_by_reason",
]

_DPI = 110


def _figure(width: float = 8.0, height: float = 5.0) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, dpi=_DPI, metadata={"Software": None})


def _grouped_bars(
    ax: Axes, labels: Sequence[str], series: Mapping[str, Sequence[float]], *, horizontal: bool
) -> None:
    n = max(len(series), 1)
    width = 0.8 / n
    pos = np.arange(len(labels), dtype=np.float64)
    for k, (name, values) in enumerate(series.items()):
        at = pos - 0.4 + width * (k + 0.5)
        if horizontal:
            ax.barh(at, values, height=width, label=name)
        else:
            ax.bar(at, values, width=width, label=name)
    if horizontal:
        ax.set_yticks(pos, labels)
        ax.invert_yaxis()
    else:
        ax.set_xticks(pos, labels, rotation=20, ha="right")
    ax.legend(title="engine")


def coverage_by_service(kpis: dict[str, Kpis], path: Path) -> None:
    """Fill rate of each service type, one bar per engine."""
    services = sorted({s for k in kpis.values() for s in k.fill_rate_by_service})
    fig = _figure(8.0, 1.2 + 0.45 * len(services) * max(len(kpis), 1))
    ax = fig.add_subplot()
    series = {e: [k.fill_rate_by_service.get(s, 0.0) for s in services] for e, k in kpis.items()}
    _grouped_bars(ax, [s.replace("_", " ") for s in services], series, horizontal=True)
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("slots filled / slots needed")
    ax.set_title("Coverage by service type")
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)


def unfilled_by_reason(kpis: dict[str, Kpis], path: Path) -> None:
    """Unfilled slots by main reason code, one bar per engine."""
    reasons = sorted({r for k in kpis.values() for r in k.unfilled_by_reason})
    fig = _figure(8.0, 4.5)
    ax = fig.add_subplot()
    if reasons:
        series = {e: [k.unfilled_by_reason.get(r, 0) for r in reasons] for e, k in kpis.items()}
        _grouped_bars(ax, [r.replace("_", " ") for r in reasons], series, horizontal=False)
    else:
        ax.text(0.5, 0.5, "every slot is filled", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel("unfilled slots")
    ax.set_title("Unfilled slots by main reason")
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)


def _step_histograms(
    series: Mapping[str, tuple[Sequence[float], str]],
    bins: Sequence[float],
    labels: tuple[str, str, str],
    path: Path,
) -> None:
    """Overlaid step histograms, one per engine: {engine: (values, legend text)}."""
    fig = _figure(8.0, 4.5)
    ax = fig.add_subplot()
    for values, legend in series.values():
        ax.hist(values, bins=list(bins), histtype="step", linewidth=1.8, label=legend)
    xlabel, ylabel, title = labels
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    _save(fig, path)


def hours_distribution(
    instance: Instance, plans: dict[str, Plan], kpis: dict[str, Kpis], path: Path
) -> None:
    """Histogram of hours per volunteer used, per engine, with each engine's Gini."""
    hours = {e: list(hours_by_volunteer(instance, p).values()) for e, p in plans.items()}
    top = max((max(h) for h in hours.values() if h), default=1.0)
    bins = np.arange(0.0, math.ceil(top) + 1.0, 0.5 if top <= 12 else 1.0).tolist()
    series = {
        e: (h, f"{e} (Gini {kpis[e].hours_gini:.3f}, {len(h)} volunteers)")
        for e, h in hours.items()
    }
    labels = (
        "hours assigned per volunteer used",
        "volunteers",
        "Distribution of hours per volunteer",
    )
    _step_histograms(series, bins, labels, path)


def travel_distribution(plans: dict[str, Plan], kpis: dict[str, Kpis], path: Path) -> None:
    """Histogram of home-to-request distance over assignments, per engine."""
    distances = {e: [a.distance_km for a in p.assignments] for e, p in plans.items()}
    top = max((max(d) for d in distances.values() if d), default=1.0)
    bins = np.linspace(0.0, max(top, 0.5), 31).tolist()
    series = {
        e: (d, f"{e} (mean {kpis[e].travel_km_mean:.2f} km, p95 {kpis[e].travel_km_p95:.2f} km)")
        for e, d in distances.items()
    }
    labels = ("travel distance (km)", "assignments", "Distribution of travel distance")
    _step_histograms(series, bins, labels, path)


def plan_map(
    instance: Instance, plan: Plan, places: dict[str, Places], title: str, path: Path
) -> None:
    """Volunteers (grey), requests by service type, assignment lines, unfilled requests (red
    crosses) and district circles."""
    fig = _figure(8.5, 8.0)
    ax = fig.add_subplot()
    v_lat = np.array([v.location.lat for v in instance.volunteers])
    v_lon = np.array([v.location.lon for v in instance.volunteers])
    ax.scatter(
        v_lon, v_lat, s=4, c="0.55", alpha=0.5, linewidths=0, label="volunteers", rasterized=True
    )
    where = {v.id: (v.location.lon, v.location.lat) for v in instance.volunteers}
    at = {r.id: (r.location.lon, r.location.lat) for r in instance.requests}
    lines = [(where[a.volunteer_id], at[a.request_id]) for a in plan.assignments]
    if lines:
        ax.add_collection(LineCollection(lines, colors="tab:blue", linewidths=0.4, alpha=0.35))
    services = sorted({r.service_type for r in instance.requests})
    cmap = _colours(len(services))
    for k, service in enumerate(services):
        pts = np.array([at[r.id] for r in instance.requests if r.service_type == service])
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            s=14,
            color=cmap[k],
            edgecolors="k",
            linewidths=0.3,
            label=service.replace("_", " "),
            zorder=3,
        )
    unfilled = np.array([at[u.request_id] for u in plan.unfilled]).reshape(-1, 2)
    if len(unfilled):
        ax.scatter(
            unfilled[:, 0],
            unfilled[:, 1],
            s=40,
            marker="x",
            c="tab:red",
            linewidths=1.2,
            label="not fully staffed",
            zorder=4,
        )
    districts = places["districts"]
    for name, lat, lon, radius in zip(
        districts.names, districts.lat, districts.lon, districts.spread_km, strict=True
    ):
        theta = np.linspace(0, 2 * np.pi, 120)
        ax.plot(
            lon + radius * np.cos(theta) / (KM_PER_DEGREE * math.cos(math.radians(lat))),
            lat + radius * np.sin(theta) / KM_PER_DEGREE,
            color="0.3",
            linewidth=0.8,
            linestyle="--",
        )
        ax.annotate(name, (lon, lat), ha="center", va="center", fontsize=8, color="0.2", alpha=0.8)
    mid = float(np.mean(districts.lat))
    ax.set_aspect(1 / math.cos(math.radians(mid)))
    ax.ticklabel_format(useOffset=False)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=7, markerscale=1.2, framealpha=0.8)
    _save(fig, path)


def _colours(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def sweep_lines(
    parameter: str,
    x_values: Sequence[Any],
    series: Mapping[str, Sequence[Kpis]],
    path: Path,
) -> None:
    """One panel per scalar KPI against the varied parameter, one line per series."""
    fields = [
        (f, label)
        for f, label, _ in SCALAR_KPIS
        if f != "solve_seconds"
        and any(getattr(k, f) is not None for kpis in series.values() for k in kpis)
    ]
    cols = 3
    rows = math.ceil(len(fields) / cols)
    fig = _figure(4.0 * cols, 3.0 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x in x_values)
    xs = list(x_values) if numeric else list(range(len(x_values)))
    for ax, (fld, label) in zip(axes, fields, strict=False):
        for name, kpis in series.items():
            ys = [getattr(k, fld) for k in kpis]
            ys = [np.nan if y is None else float(y) for y in ys]
            ax.plot(xs, ys, marker="o", label=name)
        ax.set_title(label, fontsize=10)
        if not numeric:
            ax.set_xticks(xs, [str(x) for x in x_values], fontsize=8, rotation=30, ha="right")
        ax.grid(alpha=0.3)
    for ax in axes[len(fields) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    fig.suptitle("KPIs of each variant")
    fig.supxlabel(parameter)
    _save(fig, path)
