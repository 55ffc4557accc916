"""Stakeholder quotas in scenarios: pools carry a partner `group`, options carry the matcher's
quotas, files name variants; the partner-quotas scenario's hard quotas hold in its plans and never
buy coverage."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from matcher import check_plan, parse_instance, solve
from scenarios.generate import build
from scenarios.kpis import compute_kpis
from scenarios.report import sweep_table, write_run_report
from scenarios.runner import run, sweep
from scenarios.spec import ScenarioError, load_scenario

QUOTA = '\n[[options.quotas]]\ngroup = "North University"\nmin_share = 0.5\n'


def _with_group(tiny_path: Path, extra: str) -> Path:
    """The tiny scenario with its helpers in the group 'North University', plus `extra`."""
    text = tiny_path.read_text(encoding="utf-8")
    text = text.replace(
        'affiliation = "university"', 'affiliation = "university"\ngroup = "North University"'
    )
    text = text.replace("[options]\ntime_limit_s = 5\n", "[options]\ntime_limit_s = 5\n" + extra)
    tiny_path.write_text(text, encoding="utf-8")
    return tiny_path


def _problems(path: Path) -> set[tuple[str, str]]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return {(p.key, p.message) for p in caught.value.problems}


def test_groups_and_quotas_reach_the_instance(tiny_path: Path) -> None:
    loaded = load_scenario(
        _with_group(tiny_path, ""),
        [
            (
                "options.quotas",
                [
                    {"group": "North University", "min_share": 0.5},
                    {
                        "group": "North University",
                        "max_share": 0.9,
                        "of": "hours",
                        "hard": False,
                        "weight": 2,
                    },
                ],
            )
        ],
    )
    instance = build(loaded).instance
    assert {v["group"] for v in instance["volunteers"]} == {"North University"}
    assert instance["options"]["quotas"] == [
        {"group": "North University", "min_share": 0.5},
        {"group": "North University", "max_share": 0.9, "of": "hours", "hard": False, "weight": 2},
    ]
    parsed = parse_instance(instance)
    assert [q.hard for q in parsed.options.quotas] == [True, False]


def test_without_quotas_the_instance_is_as_before(tiny_path: Path) -> None:
    instance = build(load_scenario(tiny_path)).instance
    assert "quotas" not in instance["options"]
    assert all("group" not in v for v in instance["volunteers"])


@pytest.mark.parametrize(
    ("quota", "key", "words"),
    [
        (
            "min_share = 0.5\nmax_share = 0.6",
            "options.quotas.0",
            "exactly one of min_share and max_share",
        ),
        ("min_share = 1.5", "options.quotas.0.min_share", "less than or equal to 1"),
        ('min_share = 0.5\nof = "days"', "options.quotas.0.of", "'assignments' or 'hours'"),
        ("min_share = 0.5\nweigth = 2", "options.quotas.0.weigth", "unknown key"),
    ],
)
def test_a_bad_quota_names_its_field(tiny_path: Path, quota: str, key: str, words: str) -> None:
    path = _with_group(tiny_path, f'\n[[options.quotas]]\ngroup = "North University"\n{quota}\n')
    problems = _problems(path)
    assert any(k == key and words in m for k, m in problems), problems


def test_a_quota_for_a_group_no_pool_has_is_refused(tiny_path: Path) -> None:
    path = _with_group(tiny_path, QUOTA.replace("North University", "South University"))
    assert (
        "options.quotas.0.group",
        "unknown group 'South University' (known: North University)",
    ) in _problems(path)


def test_a_variant_sets_its_keys_and_a_bad_variant_is_named(tiny_path: Path) -> None:
    variants = (
        "\n[variants.plain]\n"
        '\n[[variants.half.options.quotas]]\ngroup = "North University"\nmin_share = 0.5\n'
    )
    path = _with_group(tiny_path, "")
    path.write_text(path.read_text(encoding="utf-8") + variants, encoding="utf-8")
    loaded = load_scenario(path)
    assert loaded.spec.options.quotas == ()
    half = loaded.with_overrides([("variant", "half")])
    assert [q.min_share for q in half.spec.options.quotas] == [0.5]
    assert loaded.with_overrides([("variant", "plain")]).spec == loaded.spec
    with pytest.raises(
        ScenarioError, match=r"variant: unknown variant 'full' \(known: plain, half\)"
    ):
        loaded.with_overrides([("variant", "full")])
    path.write_text(
        path.read_text(encoding="utf-8").replace("min_share = 0.5", "min_share = 2"),
        encoding="utf-8",
    )
    assert any(k == "options.quotas.0.min_share" for k, _ in _problems(path)), (
        "an invalid variant is refused when the file loads"
    )


def test_partner_quotas_hard_variants_hold_and_never_buy_coverage() -> None:
    loaded = load_scenario("partner-quotas")
    plans: dict[str, int] = {}
    shares: dict[str, dict[str | None, float]] = {}
    for name in ("no-quotas", "universities-min-hard", "firm-max-hard"):
        variant = loaded.with_overrides([("variant", name)])
        instance = parse_instance(build(variant, scale=0.2).instance)
        plan = solve(instance, engine="optimal", time_limit_s=20, seed=0)
        report = check_plan(instance, plan)
        assert report.ok, report.violations
        assert plan.status == "optimal" and plan.bound.coverage == report.coverage
        groups = {v.id: v.group for v in instance.volunteers}
        counts = Counter(groups[a.volunteer_id] for a in plan.assignments)
        total = len(plan.assignments)
        assert total > 0
        for quota in instance.options.quotas:
            share = counts[quota.group] / total
            if quota.min_share is not None:
                assert share >= quota.min_share - 1e-9, (quota.group, share)
            else:
                assert share <= (quota.max_share or 0) + 1e-9, (quota.group, share)
        kpis = compute_kpis(instance, plan)
        assert kpis.share_by_group == {g: n / total for g, n in counts.items() if g is not None}
        assert kpis.quotas_hard_met == (len(instance.options.quotas) or None)
        plans[name] = report.coverage
        shares[name] = {g: n / total for g, n in counts.items()}
        if name != "no-quotas":  # the quotas bind: the plan without them breaks one
            free = shares["no-quotas"]
            assert any(
                free.get(q.group, 0.0) < q.min_share
                if q.min_share is not None
                else free.get(q.group, 0.0) > (q.max_share or 0)
                for q in instance.options.quotas
            ), name
    assert (
        len(loaded.with_overrides([("variant", "universities-min-hard")]).spec.options.quotas) == 4
    )
    assert plans["universities-min-hard"] <= plans["no-quotas"]
    assert plans["firm-max-hard"] <= plans["no-quotas"]


def test_sweep_over_variants_reports_the_cost_and_each_quota(tiny_path: Path) -> None:
    path = _with_group(tiny_path, "")
    path.write_text(
        path.read_text(encoding="utf-8")
        + '\n[variants.plain]\n\n[[variants.capped.options.quotas]]\ngroup = "North University"\n'
        "max_share = 0.0\n",
        encoding="utf-8",
    )
    result = sweep(load_scenario(path), [("variant", ["plain", "capped"])], time_limit_s=5)
    plain, capped = (row.kpis for row in result.rows)
    assert plain.share_by_group == {"North University": 1.0} and plain.coverage > 0
    # Every volunteer is in the group: a cap of 0 % leaves nothing to assign.
    assert capped.coverage == 0 and capped.quotas_hard_met == 1
    table = sweep_table(result)
    change = table.header.index("coverage vs first variant")
    assert [row[change] for row in table.rows] == ["+0.00%", "-100.00%"]
    quotas = table.header.index("quotas (share, met)")
    assert table.rows[1][quotas] == "North University <= 0%: 0.0% met"


def test_run_report_lists_each_quota_per_engine(tiny_path: Path, tmp_path: Path) -> None:
    loaded = load_scenario(_with_group(tiny_path, QUOTA))
    result = run(loaded, engines=("optimal", "greedy"), remedy_groups=0, time_limit_s=5)
    write_run_report(result, tmp_path / "report")
    text = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "Partner quotas (share of the plan, met)" in text
    assert "| North University >= 50% | 100.0% met | 100.0% met |" in text


def test_variants_that_are_not_tables_are_refused(tiny_path: Path) -> None:
    path = _with_group(tiny_path, "")
    path.write_text("variants = 3\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"variant: variants: expected tables of keys"):
        load_scenario(path, [("variant", "half")])
    assert any(k == "variants" for k, _ in _problems(path))
