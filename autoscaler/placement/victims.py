"""Which instances to remove on scale-in: implementations of the engine's ``VictimChooser``.

Every strategy removes instances that are not yet serving (still booting) first: they
carry no load and removing them loses nothing. Ties are broken by id, so a choice is
reproducible.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from autoscaler.model import InstanceInfo

VICTIM_STRATEGIES = ("youngest", "oldest", "least_loaded", "frees_host")


@dataclass(frozen=True)
class VictimPolicy:
    """Chooses ``n`` victims by ``strategy``:

    * ``youngest``: the most recently created (the cheapest to lose: cold caches);
    * ``oldest``: the longest running (rolls the fleet onto fresh images);
    * ``least_loaded``: the lowest reported load; an unknown load counts as busy;
    * ``frees_host``: members of the host with the fewest members first, so whole hosts
      are emptied (and can be switched off); instances with no known host go last.

    Then youngest first within a tie. Never returns more ids than the fleet has.
    """

    strategy: str = "youngest"

    def __post_init__(self) -> None:
        if self.strategy not in VICTIM_STRATEGIES:
            known = ", ".join(VICTIM_STRATEGIES)
            raise ValueError(f"unknown victim strategy {self.strategy!r} (known: {known})")

    def choose_victims(self, n: int, fleet: Sequence[InstanceInfo], now: datetime) -> Sequence[str]:
        if n <= 0:
            return []
        per_host = Counter(i.host for i in fleet if i.host is not None)

        def youngest_first(i: InstanceInfo) -> tuple[float, str]:
            return (-i.created_at.timestamp(), i.id)

        def key(i: InstanceInfo) -> tuple:
            booting = 0 if not i.ready else 1
            if self.strategy == "youngest":
                return (booting, *youngest_first(i))
            if self.strategy == "oldest":
                return (booting, i.created_at.timestamp(), i.id)
            if self.strategy == "least_loaded":
                load = i.load if i.load is not None else float("inf")
                return (booting, load, *youngest_first(i))
            # frees_host
            members = per_host[i.host] if i.host is not None else float("inf")
            return (booting, members, i.host or "", *youngest_first(i))

        return [i.id for i in sorted(fleet, key=key)[:n]]
