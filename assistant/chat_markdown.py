"""Text for Chainlit's markdown renderer, so that what we write is what the user reads.

Chainlit 2.12's frontend renders messages with react-markdown and the plugins remark-gfm and
remark-directive (frontend/src/components/Markdown.tsx), without rehype-raw (our config has
`unsafe_allow_html = false`). Two things vanish there:

- remark-directive reads a colon followed by a letter as a text directive: "openai:gpt-4o-mini
  with ..." becomes the text "openai", an empty element in place of "gpt-4o-mini", and the rest;
  a line starting with "::name" or ":::name" is a leaf or container directive.
- "<name>" is parsed as an HTML tag, and raw HTML is dropped: "openai:<name>" shows as "openai:".

A backslash before the colon or the bracket is a markdown escape the parser honours (a text
directive does not start on an escaped colon, micromark-extension-directive/lib/directive-text.js),
and the reader sees the plain character. Code spans, fenced code blocks, autolinks and bare links
are left alone: no directive or tag starts inside them, and a backslash there would show.
"""

from __future__ import annotations

import re

# A directive's name starts with an ASCII letter (micromark-extension-directive/lib/factory-name.js);
# an HTML tag, comment, declaration or instruction starts with '<' and one of these (CommonMark 6.6).
_SWALLOWED = re.compile(r"(?<!\\)(?::(?=[A-Za-z])|<(?=[A-Za-z/!?]))")
# What the renderer does not parse: fenced code blocks, code spans, autolinks and bare links.
_VERBATIM = re.compile(
    r"(?ms)^[ ]{0,3}(?P<fence>`{3,}|~{3,}).*?(?:^[ ]{0,3}(?P=fence)[`~]*[ \t]*$|\Z)"  # a fenced block, to its end
    r"|(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`)"  # a code span
    r"|<[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*>"  # an autolink
    r"|\b(?:https?://|www\.)[^\s<]+"  # a bare link (GFM), which a backslash would break
)


def _escaped(text: str) -> str:
    return _SWALLOWED.sub(lambda m: "\\" + m.group(), text)


def keep_visible(text: str) -> str:
    """`text` with every colon and angle bracket the renderer would swallow escaped, so that it shows as written."""
    parts, end = [], 0
    for match in _VERBATIM.finditer(text):
        parts += [_escaped(text[end:match.start()]), match.group()]
        end = match.end()
    parts.append(_escaped(text[end:]))
    return "".join(parts)
