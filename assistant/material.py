"""The user's material in the chat: files attached to a message are read into the thread's material folder, and
the reply names every one of them (what was read, or why it could not be).

A document becomes passages, a data file records (with a proposed use for each field, corrected in words), an
image one unit. Nothing read from a file goes to the chat model: the reply is made here from what the reader
counted, and the requirements and design steps get only the one-line summaries (`MaterialView.describe`).
The plan card shows which part of the material feeds each subtask (`coverage_lines`).
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.deps import AssistantDeps
from assistant.settings import Settings
from tools.contracts import Material, SelectMaterial, SetFieldUse, SourceFile, SourceProblem, SubtaskPlan
from tools.errors import InvalidEdit, InvalidRequest
from tools.sources import MEDIA_TYPES, SUPPORTED, MaterialView, SourceLimits, ingest, load_material
from tools.sources.names import display_name
from tools.stages.edit_reader import split_clauses
from tools.stages.ground import assign_material, coverage_lines, match_units, select_material
from tools.stages.material_edits import set_use
from tools.stages.material_index import material_index
from tools.stages.material_words import read_material_words

Attachment = tuple[str, Path]  # the name the user gave the file, and where its upload lies

# Media types browsers also send for some supported files (Windows names CSV as Excel's; an unknown type goes as
# octet-stream): Chainlit checks an upload's media type and its name's ending against `accept` (server.py).
_ALSO_SENT_AS = {"application/vnd.ms-excel": [".csv"], "text/x-markdown": [".md"], "application/x-ndjson": [".jsonl"]}
OCTET_STREAM = "application/octet-stream"


def upload_accept() -> dict[str, list[str]]:
    """Chainlit's `accept` for attachments: every supported file type (tools.sources.SUPPORTED), by media type and
    file ending. .chainlit/config.toml holds this; a test keeps the two the same."""
    accept: dict[str, list[str]] = {}
    for suffix in SUPPORTED:
        accept.setdefault(MEDIA_TYPES[suffix], []).append(suffix)
    for media_type, suffixes in _ALSO_SENT_AS.items():
        accept.setdefault(media_type, []).extend(s for s in suffixes if s in SUPPORTED)
    accept[OCTET_STREAM] = list(SUPPORTED)
    return accept


def source_limits(settings: Settings) -> SourceLimits:
    return SourceLimits(max_file_mb=settings.max_upload_mb, max_files=settings.max_uploads,
                        max_pages=settings.max_source_pages, max_records=settings.max_records)


def view_of(deps: AssistantDeps) -> MaterialView | None:
    """The thread's material, or None when nothing usable was attached."""
    folder = deps.state.material_dir
    if folder is None or load_material(Path(folder)) is None:
        return None
    view = MaterialView(Path(folder))
    return None if view.material.empty else view


def summary(deps: AssistantDeps) -> list[str] | None:
    """What the requirements and design steps are told of the material: one line per file, no content."""
    view = view_of(deps)
    return view.describe() if view is not None else None


def attachments_of(elements: Sequence[Any], spool: Path) -> list[Attachment]:
    """(name, path) of each Chainlit element: an upload has a path; one made in memory is written under `spool`."""
    found: list[Attachment] = []
    for n, element in enumerate(elements):
        name = str(getattr(element, "name", None) or f"attachment-{n + 1}")
        path = getattr(element, "path", None)
        if path:
            found.append((name, Path(path)))
            continue
        content = getattr(element, "content", None)
        data = content.encode() if isinstance(content, str) else content if isinstance(content, bytes) else b""
        spool.mkdir(parents=True, exist_ok=True)
        written = spool / f"{n:03d}"
        written.write_bytes(data)
        found.append((name, written))
    return found


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


async def attach(deps: AssistantDeps, elements: Sequence[Any], *,
                 on_progress: Callable[[str], None] | None = None) -> str:
    """Read the attached files into the thread's material folder (off the event loop) and say what became of each.
    With a plan already made, the plan's material is assigned again over everything attached."""
    state, threads = deps.state, deps.threads
    folder = Path(state.material_dir) if state.material_dir else (
        threads.material_dir(state.thread_id, state.owner) if threads is not None
        else deps.settings.data_dir / "material" / hashlib.sha256(state.thread_id.encode()).hexdigest()[:32])
    before = load_material(folder) or Material()
    with tempfile.TemporaryDirectory(prefix="attached-") as spool:
        files = attachments_of(elements, Path(spool))
        hashes = [_sha256(path) for _, path in files]
        material = await asyncio.to_thread(ingest, files, folder, source_limits(deps.settings), on_progress=on_progress)
    if not material.empty:
        state.material_dir = str(folder)
    view = MaterialView(folder) if not material.empty else None
    if view is not None:  # the passages embedded now, once, so that assigning them to subtasks ranks at once
        await asyncio.to_thread(material_index, view, deps.store)
    text = describe_attached(files, hashes, before, material, view)
    if view is not None and state.plan is not None and state.spec is not None and state.phase == "planned":
        plan = assign_material(state.plan, view, material_index(view, deps.store))
        version = state.commit(plan, state.spec, "material attached", ["material assigned again over every file"])
        text += f"\n\nPlan v{version.number}: its material now covers every attached file (see the plan card)."
    return text


def describe_attached(files: list[Attachment], hashes: list[str | None], before: Material, after: Material,
                      view: MaterialView | None) -> str:
    """The reply to an attachment: every file named, with what was read or the one line that says why not."""
    lines = describe_lines(view) if view is not None else {}
    known = {s.sha256 for s in before.sources}
    read: list[str] = []
    failed: list[str] = []
    repeated: list[str] = []
    for (given, _), sha in zip(files, hashes, strict=True):
        source = next((s for s in after.sources if sha is not None and s.sha256 == sha), None)
        if source is not None:
            (repeated if source.sha256 in known else read).append(_read_block(source, lines))
            continue
        name = display_name(given)
        problem = next((p for p in after.problems if p.name == name), None)
        failed.append(f"- {name}: {problem.message if problem else 'it could not be read (no reason was given).'}")
    parts = []
    if read:
        parts.append("**Read** (material for this conversation's benchmark):\n" + "\n".join(read))
    if repeated:
        parts.append("**Already attached** (read once; nothing new):\n" + "\n".join(repeated))
    if failed:
        parts.append("**Not read:**\n" + "\n".join(failed))
    if view is None:
        parts.append("No material is attached yet: nothing above could be used.")
    elif read or repeated:
        parts.append(_next_hint(after))
    return "\n\n".join(parts)


def problems_of(files: list[Attachment], material: Material) -> list[SourceProblem]:
    """The problems of the files just given (the material also keeps those of earlier files)."""
    names = {display_name(given) for given, _ in files}
    return [p for p in material.problems if p.name in names]


def describe_lines(view: MaterialView) -> dict[str, str]:
    """MaterialView.describe's line (what was read, with its notes) by source id."""
    return {source.id: line for source, line in zip(view.material.sources, view.describe(), strict=True)}


def _read_block(source: SourceFile, lines: dict[str, str]) -> str:
    block = [f"- {lines.get(source.id) or f'{source.name}: {source.kind}'}"]
    if source.kind == "records" and source.fields:
        block.append("  - " + correction_hint(source))
    return "\n".join(block)


def correction_hint(source: SourceFile) -> str:
    """How to correct the proposal in words, with this file's own field names."""
    fields = source.fields
    answer = next((f for f in fields if source.field_uses.get(f) == "answer"), None)
    other = next((f for f in fields if f != answer and source.field_uses.get(f) != "context"), fields[0])
    gold = next((f for f in fields if f != answer), fields[0])
    return (f"To change one, say e.g. \"use '{other}' as context\", \"the gold answer is in '{gold}'\" or "
            f"\"ignore '{other}'\".")


def _next_hint(material: Material) -> str:
    kinds = {s.kind for s in material.sources}
    steer = " Say 'use only chapter 3', 'skip the appendix' or 'only pages 2-5' to narrow it." if "document" in kinds else ""
    return ("Now describe the benchmark to build from it (e.g. '20 questions that cannot be answered without the "
            f"document'), or go on where we were.{steer}")


# --- the plan and the material ----------------------------------------------------------------


def ground(deps: AssistantDeps, plan: SubtaskPlan) -> tuple[SubtaskPlan, list[str]]:
    """`plan` with the thread's material assigned to its subtasks, and the user's earlier 'use only ...' applied;
    what could not be applied is said. Without material, the plan as it is."""
    view = view_of(deps)
    if view is None:
        return plan, []
    plan = assign_material(plan, view, material_index(view, deps.store))
    said: list[str] = []
    for steer in deps.state.material_steer:
        try:
            plan, lines = select_material(plan, view, steer.action, steer.target)
        except InvalidRequest as exc:
            said.append(f"'{steer.action} {steer.target}' could not be applied: {exc}")
            continue
        said.append(lines[0])
    deps.state.material_steer = []
    return plan, said


def regrounded(deps: AssistantDeps, old: SubtaskPlan, new: SubtaskPlan) -> SubtaskPlan:
    """After an edit that made new subtasks (add, split, merge), the material is assigned again over what the
    plan used, so that every subtask has its share; other edits keep each subtask's material."""
    view = view_of(deps)
    if view is None or {s.id for s in old.subtasks} == {s.id for s in new.subtasks}:
        return new
    used = {u for s in old.subtasks for u in (s.material.units if s.material else [])}
    units = [u for u in view.units() if u in used] or None
    return assign_material(new, view, material_index(view, deps.store), units=units)


def coverage(deps: AssistantDeps) -> list[str]:
    """For the card: which files the spec is built from and, with a plan, what feeds each subtask."""
    view = view_of(deps)
    if view is None:
        return []
    names = ", ".join(s.name for s in view.material.sources)
    plan = deps.state.plan
    lines = [f"**Material**: {names}"]
    if plan is not None and any(s.material for s in plan.subtasks):
        lines += [f"- {line}" for line in coverage_lines(plan, view)]
    if view.material.of_kind("image") and not deps.models.names.get("vision"):
        generator = deps.models.names.get("generator", "the generator")
        lines.append(f"_Images are read by the generator's model `{generator}` (set BENCHMARK_AGENT_VISION_MODEL for "
                     "another)._")
    return lines


def remembered_selection(deps: AssistantDeps, edit: SelectMaterial) -> str | None:
    """A 'use only ...' said before there is a plan: kept for the design when the material has that part; None
    when it names nothing in the material (then the words were not about it)."""
    view = view_of(deps)
    if view is None:
        return None
    try:
        units = match_units(view, edit.target)
    except InvalidRequest:
        return None
    deps.state.material_steer.append(edit)
    verb = "Only" if edit.action == "only" else "Not"
    return f"{verb} '{edit.target}' ({len(units)} parts of the material) will be used once the subtasks are designed."


def read_words(deps: AssistantDeps, message: str) -> str | None:
    """A message that only says what the material is for, before there is a plan to edit ("the gold answer is in
    label", "use only chapter 3"): applied without a model. None when it says anything else, or when the thread
    has no material (then the message goes on as a request)."""
    view = view_of(deps)
    if view is None:
        return None
    clauses = split_clauses(message)
    edits = [read_material_words(clause, None) for clause in clauses]
    if not clauses or any(e is None for e in edits):
        return None
    said: list[str] = []
    for clause, (edit,) in zip(clauses, edits, strict=True):  # type: ignore[misc]
        if isinstance(edit, SetFieldUse):
            try:
                said += set_use(view, edit)
            except InvalidEdit as exc:
                said.append(f"'{clause}': not possible: {exc}")
            view = MaterialView(view.folder)
            continue
        remembered = remembered_selection(deps, edit)
        if remembered is None:
            return None  # names nothing in the material: not about it ("only questions about France")
        said.append(remembered)
    return "\n".join(f"- {line}" for line in said) + "\n\n" + "\n".join(describe_lines_flat(view))


def describe_lines_flat(view: MaterialView) -> list[str]:
    return ["Material now:", *(f"- {line}" for line in view.describe())]
