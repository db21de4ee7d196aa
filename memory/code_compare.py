"""Two pieces of code compared for what they do, as far as text can tell: the same code with its own
names renamed is the same; a small edit to otherwise equal code (`max` -> `min`, `+` -> `*`,
`== 0` -> `== 1`) is a change of behaviour; code written another way altogether is left unsure."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Literal

CodeMatch = Literal["same", "different", "unsure"]

_TOKEN = re.compile(r"[A-Za-z_$][\w$]*|\d+(?:\.\d+)?|'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|`[^`]*`"
                    r"|===|!==|==|!=|<=|>=|=>|\*\*|//|\+\+|--|&&|\|\||\.\.\.|\S")
_BINDS = re.compile(
    r"\b(?:def|function|class|const|let|var|lambda)\s+([A-Za-z_$][\w$]*)"  # a defined name
    r"|\bfor\s*\(?\s*(?:const|let|var)?\s*([A-Za-z_$][\w$]*)\s+(?:in|of)\b"  # a loop variable
    r"|\b([A-Za-z_$][\w$]*)\s*(?:=(?![=>])|\+=|-=|\*=|/=)"  # an assignment target
    r"|\b([A-Za-z_$][\w$]*)\s*=>"  # a single arrow parameter
)
_PARAMS = re.compile(r"(?:\bdef\s+\w+|\bfunction\s*\w*|\blambda)\s*\(?([^)\n:]*)\)?\s*[:{]?|\(([^()]*)\)\s*=>")
_CODE_HINT = re.compile(r"\bdef \w+\(|\bfunction\b|=>|\breturn\b|\blambda\b|^\s*(?:SELECT|const|let|var)\b|[;{}]\s*$",
                        re.MULTILINE)


def looks_like_code(text: str) -> bool:
    return bool(_CODE_HINT.search(text))


def _bound_names(code: str) -> set[str]:
    names = {name for groups in _BINDS.findall(code) for name in groups if name}
    for groups in _PARAMS.findall(code):
        for params in groups:
            for param in params.split(","):
                name = re.match(r"\s*\**([A-Za-z_$][\w$]*)", param)
                if name:
                    names.add(name.group(1))
    return names


def normalise(code: str) -> list[str]:
    """The code's tokens, comments dropped, its own names (functions, parameters, variables) numbered in
    order of appearance, and string quotes made alike."""
    code = re.sub(r"#[^\n]*|//[^\n]*|/\*.*?\*/", "", code, flags=re.DOTALL)
    bound = _bound_names(code)
    numbering: dict[str, str] = {}
    out = []
    for token in _TOKEN.findall(code):
        if token in bound:
            token = numbering.setdefault(token, f"v{len(numbering)}")
        elif token[:1] in "'\"`":
            token = "'" + token[1:-1] + "'"
        out.append(token)
    while out and out[-1] == ";":
        out.pop()
    return out


def code_match(a: str, b: str) -> CodeMatch:
    x, y = normalise(a), normalise(b)
    if x == y:
        return "same"
    if SequenceMatcher(None, x, y, autojunk=False).ratio() >= 0.85:
        return "different"
    return "unsure"
