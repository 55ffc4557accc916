"""How one part's time is shared out: tiers, pricing, cuts, dives and MIPs each take a share of
what is left when they start, so that every later step still has time and the part never runs
past its deadline. One place for the shares, so that the policy can be read at a glance."""

from __future__ import annotations

from ..base import Deadline

__all__ = ["PartBudget"]

# Share of the remaining budget a tier may use before the next starts.
_TIER_SHARE = {0: 0.3, 1: 0.5, 12: 0.7, 2: 0.7, 3: 0.8}
# Without soft terms tier 3 is free, so the combined tier 12 and the held-travel tier 2 may take
# what it would have had.
_TIER_SHARE_WITHOUT_SOFT = {**_TIER_SHARE, 12: 0.9, 2: 0.9}
# Pricing may take half of a tier's time; the integer solves need the rest.
PRICING_SHARE = 0.5
# Share of a tier's remaining time for the rounds of cuts after the dive: they stop early where
# they stall, and where they do not, the restricted MIP they leave is quick.
CUT_SHARE = 0.7
# Share of a tier's budget for the MIP on the LP's support; more where it is the tier's only
# MIP (a part too large for a MIP on its columns): on a 20,000-volunteer week it found the
# optimal coverage in 0.65 s, and 20 % of the tier was sometimes less than that.
DIVE_SHARE = 0.2
LONE_DIVE_SHARE = 0.6
# Share of the remaining budget for tightening the bound before tier 3.
FACE_SHARE = 0.3
# Share of the remaining budget for the coverage LP that bounds tier 1 after the combined tier,
# and for the one that looks for starved requests before any real work.
COVERAGE_BOUND_SHARE = 0.3
STARVED_CHECK_SHARE = 0.2
# Share of the tier's time left that one MIP may take on a part solved on restricted columns:
# one that has not proven its columns optimal by then rarely does (on the GAP of 1,600 jobs
# HiGHS spent 25 s for a plan worse than the dive's), and the local search makes better use of
# the rest. Parts solved on all their pairs keep the whole time.
RESTRICTED_MIP_SHARE = 0.5
# Share of the part's time left that a MIP on closed columns may take (it proves its tier if it
# ends): beyond the tier's own share.
CLOSED_MIP_SHARE = 0.95
# Share of a restricted tier's time left for its first MIP, before the cut rounds.
FIRST_MIP_SHARE = 0.3
# Share of a MIP's time for a first, short one when the plan in hand is no plan of the tier.
FIRST_PLAN_SHARE = 0.05


class PartBudget:
    """A part's deadline, shared out among its tiers."""

    def __init__(self, deadline: Deadline, *, has_soft_terms: bool) -> None:
        self.deadline = deadline
        self._shares = _TIER_SHARE if has_soft_terms else _TIER_SHARE_WITHOUT_SOFT

    @property
    def seconds(self) -> float:
        return self.deadline.seconds

    def remaining(self) -> float:
        return self.deadline.remaining()

    def expired(self) -> bool:
        return self.deadline.expired()

    def share(self, fraction: float) -> Deadline:
        """A deadline `fraction` of the way to the part's."""
        return Deadline(self.deadline.remaining() * fraction)

    def tier(self, number: int) -> Deadline:
        """The deadline of a tier starting now."""
        return self.share(self._shares[number])
