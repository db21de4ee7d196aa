"""The builds running in this server process, and how many may run at once: per user and in all.

One instance per server (assistant/app.py's runtime), shared by every chat session; a build takes a slot before it
spends anything and gives it back however it ends.
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

    def refusal(self, owner: str | None) -> str | None:
        """Why a new build of `owner` cannot start now, naming the limit and its setting; None when it can."""
        running = Counter(self._owners.values())
        if self.per_user is not None and running[owner] >= self.per_user:
            return (f"You already have {running[owner]} build(s) running, the most one user may run at once on this "
                    f"server (BENCHMARK_AGENT_MAX_BUILDS_PER_USER={self.per_user}). Build again when one has finished; "
                    "your plan is kept as it is.")
        if self.total is not None and len(self._owners) >= self.total:
            return (f"This server is running {len(self._owners)} builds, the most it runs at once for all users "
                    f"together (BENCHMARK_AGENT_MAX_BUILDS={self.total}). Build again in a few minutes; your plan is "
                    "kept as it is.")
        return None

    def add(self, thread_id: str, owner: str | None = None) -> None:
        self._owners[thread_id] = owner

    def discard(self, thread_id: str) -> None:
        self._owners.pop(thread_id, None)
