"""What the orchestrating agent and its tools are given: settings, models, memory, the thread's state."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.build_slots import BuildSlots
from assistant.leases import BuildLeases
from assistant.model_registry import resolve_model
from assistant.session import ThreadState, ThreadStore
from assistant.settings import EMBEDDED_MODEL, Settings
from memory.catalog import PriorCatalog
from memory.embeddings import Embedder
from memory.minilm_onnx import OnnxMiniLMEmbedder
from memory.store import SampleStore
from tools.contracts import EventSink
from tools.engine.batches import BuildOptions
from tools.engine.budget import Budget, parse_prices
from tools.errors import ConfigurationError
from tools.finish.run import FinishOptions
from tools.llm.stage import StageModels
from tools.pipeline import Limits
from tools.qc.gate import QCOptions
from tools.qc.sandbox import SandboxLimits


def settle_heap() -> None:
    """Keep what the process has loaded so far (libraries, schemas, models) out of the garbage collector's full passes.

    A full pass walks every object the process holds, on the thread that triggered it: with the libraries and
    models loaded that is a few hundred ms of CPU in one go on the event loop, several times a build (the loop's
    longest stalls in bench/throughput.py). Frozen once loaded, those objects are not walked again; whatever is made
    afterwards (every build's objects) is collected as before. Call once per process, after loading."""
    gc.collect()
    gc.freeze()


def memory_embedder() -> Embedder:
    """The embedder of the vector memory: the packaged all-MiniLM-L6-v2, int8 ONNX (what dedup is calibrated on)."""
    return OnnxMiniLMEmbedder()


def open_store(settings: Settings, embedder: Embedder | None = None) -> SampleStore:
    """The samples memory: under the data directory, or on the Chroma server when CHROMA_HOST is set.

    The collection is named after the embedder, so vectors of different embedders never mix. The store acts for
    the local identity (`local_user`: the CLI's user), which also owns the entries of versions before owners;
    the chat scopes it to the signed-in user (`SampleStore.scoped`)."""
    embedder = embedder or memory_embedder()
    return SampleStore(settings.data_dir / "chroma", embedder=embedder, host=settings.chroma_host,
                       port=settings.chroma_port, collection=f"samples-{embedder.name}",
                       owner=settings.local_user, legacy_owner=settings.local_user)


def open_catalog(settings: Settings, embedder: Embedder | None = None) -> PriorCatalog:
    """The prior-benchmark catalog, next to the samples memory (seeded with the shipped benchmarks), acting for
    the local identity like `open_store`."""
    embedder = embedder or memory_embedder()
    return PriorCatalog(settings.data_dir / "chroma", embedder=embedder, host=settings.chroma_host,
                        port=settings.chroma_port, collection=f"prior-benchmarks-{embedder.name}",
                        owner=settings.local_user, legacy_owner=settings.local_user)


def qc_options(settings: Settings) -> QCOptions | None:
    """The quality gate's checks. With the embedded toy model as judge, the model-run checks (inspector,
    repair, re-solve) would be noise: the deterministic checks run, then one judge verdict (TOY_MODEL_WARNING
    says so)."""
    if not settings.qc:
        return None
    if settings.model_for("judge") == EMBEDDED_MODEL:
        return QCOptions(inspect=False, repair=False, resolve=False, require_solution_code=settings.require_solutions,
                         sandbox=SandboxLimits(timeout_s=settings.sandbox_timeout_s, memory_mb=settings.sandbox_memory_mb))
    return QCOptions(repair=settings.qc_repair, resolve=settings.qc_resolve,
                     require_solution_code=settings.require_solutions,
                     sandbox=SandboxLimits(timeout_s=settings.sandbox_timeout_s, memory_mb=settings.sandbox_memory_mb))


def build_options(settings: Settings) -> BuildOptions:
    return BuildOptions(batch_size=settings.batch_size, max_rounds_per_sample=settings.max_rounds_per_sample,
                        dedup_threshold=settings.dedup_threshold, concurrency=settings.concurrency,
                        budget=Budget(max_tokens=settings.max_tokens, max_cost=settings.max_cost),
                        prices=parse_prices(settings.prices), qc=qc_options(settings), briefs=settings.design_briefs)


def finish_options(settings: Settings) -> FinishOptions:
    """Panel models are resolved here, so a misnamed one fails before the build starts."""
    try:
        band = settings.band()
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    panel = {name: resolve_model(name, settings) for name in settings.panel()}
    return FinishOptions(panel=panel, band=band, panel_attempts=settings.panel_attempts,
                         calibration_rounds=settings.calibration_rounds,
                         quality_sample_size=settings.quality_sample_size, qc=qc_options(settings),
                         dedup_threshold=settings.dedup_threshold, concurrency=settings.concurrency)


def limits(settings: Settings) -> Limits:
    return Limits(max_size=settings.max_size, default_size=settings.default_size)


@dataclass
class AssistantDeps:
    settings: Settings
    models: StageModels
    store: SampleStore
    state: ThreadState
    on_event: EventSink | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Set by a tool when it has done its step this turn; the agent is then offered no more tools.
    acted: bool = False
    # What that step said; shown instead of the chat model's words when the chat model is the toy one, or when the
    # step's words are to be shown as they are (flow.Step.verbatim), and the step's name.
    summary: str | None = None
    ran: str | None = None
    # Set by a step that refused to run because of a server limit: its words (the limit, its setting) are shown.
    refused: bool = False
    # Markdown a step shows as it is, before the reply (an audit's table): too long to pass through the chat model.
    documents: list[str] = field(default_factory=list)
    threads: ThreadStore | None = None
    # The builds running in this server process right now (shared by all sessions), and the limits on them.
    active_builds: BuildSlots = field(default_factory=BuildSlots)
    # The task running each of those builds, and the threads whose user asked to stop theirs (shared like it).
    build_tasks: dict[str, asyncio.Task[Any]] = field(default_factory=dict)
    stop_requests: set[str] = field(default_factory=set)
    # Shared with the other server processes of the database: which of them runs each thread's build. None: only
    # this process's builds count (tests, the CLI).
    leases: BuildLeases | None = None
    # Set when this thread's build runs in another server process: who runs it.
    build_elsewhere: str | None = None
    # Known benchmarks: the design notes overlaps with them, and a finished build joins them. None = not used.
    catalog: PriorCatalog | None = None

    @property
    def builds_dir(self) -> Path:
        """Where this thread's builds go: in the thread's own folder, so that each belongs to one user and thread."""
        if self.threads is not None:
            return self.threads.thread_dir(self.state.thread_id, self.state.owner) / "builds"
        return self.settings.data_dir / "builds"
