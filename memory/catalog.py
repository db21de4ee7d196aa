"""Prior benchmarks: the well-known public ones (shipped) and every one built on this installation.

The design stage asks it which known benchmark a subtask is close to, so the plan can say what ours
adds, and so the assistant can say when the user asks for something that already exists.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, cast

from memory.embeddings import ChromaEmbedding, Embedder
from memory.owners import LOCAL_USER, OWNER, PUBLISHED, THREAD, both, claim_unowned, ownership, visible_to
from memory.store import ClosesOnExit, make_client, open_collection

SHIPPED = Path(__file__).parent / "data" / "prior_benchmarks.json"
COLLECTION = "prior-benchmarks"
NAMED_SCORE = 0.9  # a benchmark named in the query is a match whatever its embedding says
# Names that are also ordinary words count as named only when written as the name is ("MATH", not "math").
_COMMON_WORDS = {"math", "arc", "drop", "race", "bird", "spider", "fever", "aime", "gaia"}

Source = Literal["public", "built"]


@dataclass(frozen=True)
class PriorBenchmark:
    name: str
    measures: str
    format: str
    size: str
    year: int | None = None
    area: str = "text"
    aliases: tuple[str, ...] = ()
    source: Source = "public"
    build_id: str | None = None
    # A benchmark built here belongs to its owner (memory/owners.py); others see it once it is published.
    owner: str | None = None
    published: bool = False
    thread_id: str | None = None

    @property
    def id(self) -> str:
        return f"built:{self.build_id}" if self.build_id else f"public:{_slug(self.name)}"

    @property
    def text(self) -> str:
        """What is embedded: name, what it measures and its format."""
        return f"{self.name}: {self.measures}. Format: {self.format}."

    def summary(self) -> str:
        when = f", {self.year}" if self.year else ""
        built = f"built here ({self.build_id}): " if self.source == "built" else ""
        return f"{built}{self.measures} ({self.format}; {self.size}{when})"

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "name": self.name, "measures": self.measures, "format": self.format, "size": self.size,
            "area": self.area, "source": self.source, "aliases": json.dumps(list(self.aliases)),
            "digest": hashlib.sha256(self.text.encode() + self.size.encode()).hexdigest()[:16],
        }
        if self.year is not None:
            meta["year"] = self.year
        if self.build_id is not None:
            meta["build_id"] = self.build_id
        if self.owner is not None:
            meta.update(ownership(self.owner, self.thread_id, self.published))
        return meta

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> PriorBenchmark:
        return cls(name=str(meta["name"]), measures=str(meta["measures"]), format=str(meta["format"]),
                   size=str(meta["size"]), year=int(meta["year"]) if meta.get("year") is not None else None,
                   area=str(meta.get("area", "text")), aliases=tuple(json.loads(str(meta.get("aliases") or "[]"))),
                   source="built" if meta.get("source") == "built" else "public",
                   build_id=str(meta["build_id"]) if meta.get("build_id") else None,
                   owner=str(meta[OWNER]) if meta.get(OWNER) else None, published=bool(meta.get(PUBLISHED)),
                   thread_id=str(meta[THREAD]) if meta.get(THREAD) else None)


@dataclass(frozen=True)
class PriorMatch:
    benchmark: PriorBenchmark
    score: float
    why: str = field(default="")

    def as_json(self) -> dict[str, Any]:
        return {"name": self.benchmark.name, "score": round(self.score, 4), "why": self.why}


@lru_cache(maxsize=1)
def shipped_benchmarks() -> tuple[PriorBenchmark, ...]:
    """The public benchmarks described in memory/data/prior_benchmarks.json."""
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    return tuple(
        PriorBenchmark(name=e["name"], measures=e["measures"], format=e["format"], size=e["size"], year=e.get("year"),
                       area=e["area"], aliases=tuple(e.get("aliases", ())))
        for e in data["benchmarks"]
    )


class PriorCatalog(ClosesOnExit):
    """Known benchmarks in a Chroma collection, seeded from the shipped file; local or on a `chroma run` server.

    Like SampleStore it acts for one `owner`: searches see the shipped benchmarks, the owner's own and the
    published ones; `scoped` gives a view for another user or thread.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        embedder: Embedder,
        host: str | None = None,
        port: int | None = None,
        collection: str = COLLECTION,
        seed: bool = True,
        owner: str = LOCAL_USER,
        legacy_owner: str | None = None,
    ) -> None:
        self._client = make_client(path, host, port)
        self._owner, self._view = owner, False
        self._thread_id: str | None = None
        try:
            self._collection = open_collection(self._client, collection, ChromaEmbedding(embedder))
            claim_unowned(self._collection, legacy_owner or owner, skip_public=True)
            if seed:
                self.seed()
        except BaseException:
            self._client.close()
            raise

    def seed(self) -> int:
        """Add (or refresh) the shipped benchmarks that are missing or changed; return how many were written."""
        wanted = {b.id: b for b in shipped_benchmarks()}
        stored = self._collection.get(ids=list(wanted), include=["metadatas"])
        digests = {i: (m or {}).get("digest") for i, m in zip(stored["ids"], stored["metadatas"] or [], strict=True)}
        stale = [b for i, b in wanted.items() if digests.get(i) != b.metadata()["digest"]]
        if stale:
            self._collection.upsert(ids=[b.id for b in stale], documents=[b.text for b in stale],
                                    metadatas=[b.metadata() for b in stale])
        return len(stale)

    def add_built(self, *, build_id: str, name: str, measures: str, format: str, size: int | str,
                  year: int | None = None, area: str = "built here") -> PriorBenchmark:
        """Record a benchmark finished on this installation (adding the same build again replaces it)."""
        benchmark = PriorBenchmark(name=name, measures=measures, format=format, size=str(size), year=year, area=area,
                                   source="built", build_id=build_id, owner=self._owner, thread_id=self._thread_id)
        self._collection.upsert(ids=[benchmark.id], documents=[benchmark.text], metadatas=[benchmark.metadata()])
        return benchmark

    def search(self, query: str, *, k: int = 5, source: Source | None = None) -> list[PriorMatch]:
        """The `k` known benchmarks closest to `query`, best first; one the query names is always among them."""
        total = self.count()
        if total == 0 or k <= 0 or not query.strip():
            return []
        where = both(visible_to(self._owner, public=True), {"source": source} if source else None)
        result = self._collection.query(query_texts=[query], n_results=min(total, max(k, 10)),
                                        where=cast(Any, where), include=["metadatas", "distances"])
        found = {}
        for meta, distance in zip(result["metadatas"][0], result["distances"][0], strict=True):  # type: ignore[index]
            benchmark = PriorBenchmark.from_metadata(dict(meta))
            found[benchmark.id] = PriorMatch(benchmark, 1.0 - float(distance), benchmark.summary())
        for benchmark in self._named_in(query, source):
            score = max(NAMED_SCORE, found[benchmark.id].score if benchmark.id in found else 0.0)
            found[benchmark.id] = PriorMatch(benchmark, score, f"named in the request; {benchmark.summary()}")
        return sorted(found.values(), key=lambda m: -m.score)[:k]

    def _named_in(self, query: str, source: Source | None) -> list[PriorBenchmark]:
        if source == "built":
            return []
        folded, exact = f" {_words(query)} ", f" {' '.join(re.findall(r'[A-Za-z0-9+]+', query))} "
        return [b for b in shipped_benchmarks() if any(_names(name, folded, exact) for name in (b.name, *b.aliases))]

    def count(self) -> int:
        """How many benchmarks this owner sees (the shipped ones included)."""
        return len(self._collection.get(where=cast(Any, visible_to(self._owner, public=True)), include=[])["ids"])

    def built(self) -> list[PriorBenchmark]:
        """The benchmarks built here that this owner sees (their own and the published ones), newest build first."""
        found = self._collection.get(where=cast(Any, both(visible_to(self._owner), {"source": "built"})),
                                     include=["metadatas"])
        benchmarks = [PriorBenchmark.from_metadata(dict(m or {})) for m in found.get("metadatas") or []]
        return sorted(benchmarks, key=lambda b: b.build_id or "", reverse=True)

    def entry(self, build_id: str) -> PriorBenchmark | None:
        """The catalog entry of `build_id`, whoever owns it (for telling "not yours" from "unknown")."""
        found = self._collection.get(ids=[f"built:{build_id}"], include=["metadatas"])
        metas = found.get("metadatas") or []
        return PriorBenchmark.from_metadata(dict(metas[0] or {})) if found["ids"] else None

    def set_published(self, build_id: str, published: bool) -> bool:
        """Publish (or unpublish) this owner's entry for `build_id`; False when they have none."""
        entry = self.entry(build_id)
        if entry is None or entry.owner != self._owner:
            return False
        self._collection.update(ids=[entry.id], metadatas=cast(Any, [{PUBLISHED: published}]))
        return True

    def scoped(self, owner: str, *, thread_id: str | None = None) -> PriorCatalog:
        """This catalog (same client and collection) acting for `owner`, recording builds of `thread_id`."""
        view = copy.copy(self)
        view._owner, view._thread_id, view._view = owner, thread_id, True
        return view

    @property
    def owner(self) -> str:
        return self._owner

    def close(self) -> None:
        if not self._view:  # a view leaves the client to the catalog it came from
            self._client.close()



def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _names(name: str, folded: str, exact: str) -> bool:
    if name.lower() in _COMMON_WORDS:
        return f" {' '.join(re.findall(r'[A-Za-z0-9+]+', name))} " in exact
    return len(_words(name)) > 2 and f" {_words(name)} " in folded


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9+]+", text.lower()))
