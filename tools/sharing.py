"""Publishing a finished benchmark to the shared catalog, and taking it back.

A build's remembered samples and its catalog entry belong to the user who built it (memory/owners.py):
only their own builds take part in their de-duplication and overlap checks. Publishing a benchmark makes
its samples take part in every user's de-duplication and lists it in everyone's catalog; unpublishing
makes both private again. Only the owner may do either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from memory.catalog import PriorCatalog
from memory.store import SampleStore
from tools.errors import InvalidRequest


class UnknownBuild(InvalidRequest):
    """No finished build of that id (or in that folder) is in memory."""


class NotYourBuild(InvalidRequest):
    """The build belongs to another user: only its owner may publish or unpublish it."""


@dataclass(frozen=True)
class Shared:
    build_id: str
    name: str | None
    items: int
    published: bool

    def describe(self) -> str:
        what = f"{self.name} ({self.build_id})" if self.name else self.build_id
        if self.published:
            return (f"Published {what} to the shared catalog: its {self.items} samples now take part in every user's "
                    "de-duplication, and every user's catalog lists it. Unpublish it to make it yours alone again.")
        return (f"Unpublished {what}: its {self.items} samples and its catalog entry are yours alone again; other "
                "users' de-duplication no longer sees them.")


def build_id_in(directory: Path) -> str:
    """The id of the finished build in `directory` (from its report.json)."""
    report = directory / "report.json"
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UnknownBuild(f"{directory} holds no finished build (no report.json): give the folder a build wrote "
                           "its benchmark to (benchmark-agent build --out FOLDER).") from exc
    except ValueError as exc:
        raise UnknownBuild(f"{report} is not a build report (not JSON: {exc}).") from exc
    build_id = data.get("build_id") if isinstance(data, dict) else None
    if not isinstance(build_id, str) or not build_id:
        raise UnknownBuild(f"{report} names no build_id: it is not a build report of this product.")
    if data.get("status") == "stopped":
        raise InvalidRequest(f"Build {build_id} in {directory} stopped before it finished: finish it first "
                             f"(benchmark-agent resume {directory}), then publish it.")
    return build_id


def is_published(store: SampleStore, catalog: PriorCatalog | None, build_id: str) -> bool:
    """Whether the owner's build `build_id` is published (its catalog entry, else its samples, say so)."""
    entry = catalog.entry(build_id) if catalog is not None else None
    if entry is not None and entry.owner == store.owner:
        return entry.published
    return store.published_count(build_id) > 0


def share(store: SampleStore, catalog: PriorCatalog | None, build_id: str, *, published: bool) -> Shared:
    """Publish (`published=True`) or unpublish the store owner's build `build_id`: its samples and catalog entry."""
    entry = catalog.entry(build_id) if catalog is not None else None
    owners = store.owners_of(build_id) | ({entry.owner} if entry is not None and entry.owner else set())
    if store.owner not in owners:
        if owners:  # say so without naming the owner
            raise NotYourBuild(f"Build {build_id} belongs to another user: only the user who built it can "
                               f"{'publish' if published else 'unpublish'} it.")
        raise UnknownBuild(f"No benchmark {build_id} is in memory: only a finished build remembered here can be "
                           f"{'published' if published else 'unpublished'}.")
    items = store.set_published(build_id, published)
    if catalog is not None:
        catalog.set_published(build_id, published)
    return Shared(build_id=build_id, name=entry.name if entry is not None and entry.owner == store.owner else None,
                  items=items, published=published)
