"""Prior benchmarks: the well-known public ones (shipped) and every one built on this installation.

The design stage asks it which known benchmark a subtask is close to, so the plan can say what ours
adds, and so the assistant can say when the user asks for something that already exists.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from memory.embeddings import ChromaEmbedding, Embedder
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
        return meta

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> PriorBenchmark:
        return cls(name=str(meta["name"]), measures=str(meta["measures"]), format=str(meta["format"]),
                   size=str(meta["size"]), year=int(meta["year"]) if meta.get("year") is not None else None,
                   area=str(meta.get("area", "text")), aliases=tuple(json.loads(str(meta.get("aliases") or "[]"))),
                   source="built" if meta.get("source") == "built" else "public",
                   build_id=str(meta["build_id"]) if meta.get("build_id") else None)


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
    """Known benchmarks in a Chroma collection, seeded from the shipped file; local or on a `chroma run` server."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        embedder: Embedder,
        host: str | None = None,
        port: int | None = None,
        collection: str = COLLECTION,
        seed: bool = True,
    ) -> None:
        self._client = make_client(path, host, port)
        try:
            self._collection = open_collection(self._client, collection, ChromaEmbedding(embedder))
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
                                   source="built", build_id=build_id)
        self._collection.upsert(ids=[benchmark.id], documents=[benchmark.text], metadatas=[benchmark.metadata()])
        return benchmark

    def search(self, query: str, *, k: int = 5, source: Source | None = None) -> list[PriorMatch]:
        """The `k` known benchmarks closest to `query`, best first; one the query names is always among them."""
        total = self.count()
        if total == 0 or k <= 0 or not query.strip():
            return []
        result = self._collection.query(query_texts=[query], n_results=min(total, max(k, 10)),
                                        where={"source": source} if source else None,
                                        include=["metadatas", "distances"])
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
        return self._collection.count()

    def close(self) -> None:
        self._client.close()



def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _names(name: str, folded: str, exact: str) -> bool:
    if name.lower() in _COMMON_WORDS:
        return f" {' '.join(re.findall(r'[A-Za-z0-9+]+', name))} " in exact
    return len(_words(name)) > 2 and f" {_words(name)} " in folded


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9+]+", text.lower()))
