"""Whether a request is about files the user means to give: "questions on the attached document", "about these
images", "from my lecture notes".

Read without a model, so that the chat can ask for the files before it plans anything when none is attached
(the request is kept and goes on once they arrive). Only the words that name the user's own files count: a
determiner that points at them ("the attached", "these", "my") or a noun that can only be a file ("PDF", "image").
"""

from __future__ import annotations

import re

from tools.contracts import SourceKind

_NOUNS: dict[SourceKind, str] = {
    "image": r"images?|pictures?|photos?|photographs?|screenshots?|charts?|diagrams?|scans?",
    "document": r"documents?|docs?|pdfs?|notes|papers?|articles?|reports?|chapters?|books?|slides|manuals?|"
                r"transcripts?|handbooks?|files?|texts?",
    "records": r"csv(?:\s+files?)?|spreadsheets?|datasets?|data\s+files?|records",
}
# Nouns that name a file whatever points at them ("questions about images", "a quiz on a PDF").
_ALWAYS: dict[SourceKind, str] = {
    "image": r"images?|pictures?|photos?|photographs?|screenshots?",
    "document": r"documents?|pdfs?",
    "records": r"csv(?:\s+files?)?|spreadsheets?",
}
_AFTER = r"(?:on|about|from|in|over|of|for|based on|using|with|drawn from|written from|grounded in)"
# What points at the user's own files ("the attached", "these", "my"); "the" or "a" only with a noun of _ALWAYS.
_STRONG = r"(?:the\s+)?(?:attached|uploaded|enclosed|provided|given|following)|this|these|my|our"
_WEAK = r"the|a|an|some"


def _pattern(kind: SourceKind) -> re.Pattern[str]:
    return re.compile(
        rf"\b{_AFTER}\s+(?:(?:{_STRONG})\s+(?:[\w-]+\s+){{0,2}}?(?:{_NOUNS[kind]})"
        rf"|(?:(?:{_WEAK})\s+)?(?:[\w-]+\s+)?(?:{_ALWAYS[kind]}))\b",
        re.IGNORECASE)


_KINDS: tuple[SourceKind, ...] = ("image", "document", "records")
_PATTERNS = {kind: _pattern(kind) for kind in _KINDS}


def files_named(text: str) -> SourceKind | None:
    """The kind of file a request says it is about (images first: "questions about these photos"), or None."""
    for kind, pattern in _PATTERNS.items():
        if pattern.search(text):
            return kind
    return None
