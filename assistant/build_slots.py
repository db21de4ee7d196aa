"""The builds running in this server process, and how many may run at once: per user and in all.

One instance per server (assistant/app.py's runtime), shared by every chat session; a build takes a slot before it
spends anything and gives it back however it ends. Replicas sharing a database also count each other's builds (their
build leases, assistant/leases.py), once a build has taken its lease.
"""

from __future__ import annotations

from collections import Counter


class BuildSlots:
    def __init__(self, per_user: int | None = None, total: int | None = None) -> None:
        self.per_user, self.total = per_user, total
        self._owners: dict[str, str | None] = {}  # thread id -> the user whose build it is

    def __contains__(self, thread_id: object) -> bool:
        return thread_id in self._owners

    def __len__(self) -> int:
        return len(self._owners)

    def refusal(self, owner: str | None, *, besides: str | None = None,
                elsewhere: tuple[int, int] | None = None) -> str | None:
        """Why a new build of `owner` cannot start now, naming the limit and its setting; None when it can.

        `besides`: the thread asking, left out of the count when it holds a slot already; `elsewhere`: the builds
        (the owner's, everyone's) every server process sharing the database runs, from their leases."""
        others = {thread: who for thread, who in self._owners.items() if thread != besides}
        mine, everyone = Counter(others.values())[owner], len(others)
        if elsewhere is not None:
            mine, everyone = max(mine, elsewhere[0]), max(everyone, elsewhere[1])
        if self.per_user is not None and mine >= self.per_user:
            return (f"You already have {mine} build(s) running, the most one user may run at once on this "
                    f"server (BENCHMARK_AGENT_MAX_BUILDS_PER_USER={self.per_user}). Build again when one has finished; "
                    "your plan is kept as it is.")
        if self.total is not None and everyone >= self.total:
            return (f"This server is running {everyone} builds, the most it runs at once for all users "
                    f"together (BENCHMARK_AGENT_MAX_BUILDS={self.total}). Build again in a few minutes; your plan is "
                    "kept as it is.")
        return None

    def add(self, thread_id: str, owner: str | None = None) -> None:
        self._owners[thread_id] = owner

    def discard(self, thread_id: str) -> None:
        self._owners.pop(thread_id, None)
