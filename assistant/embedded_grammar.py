"""JSON schemas for the embedded model's grammar-constrained output, and reading that output back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pydantic_core

# Without explicit bounds the 135M model repeats itself until the JSON breaks, so every string and
# array the grammar allows gets a ceiling.
STRING_MAX_LENGTH = 300
ARRAY_MAX_ITEMS = 6
TEXT_MAX_LENGTH = 600
# llama.cpp's converter ignores minimum/maximum; integer ranges this small become an enum instead.
INT_ENUM_MAX_SPAN = 64

# The keywords llama_cpp.llama_grammar.SchemaConverter reads; everything else is dropped, so that an
# annotation-only schema (e.g. `Any`, which is just a title) is seen as empty.
_KEPT_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "prefixItems", "minItems",
        "maxItems", "anyOf", "oneOf", "allOf", "const", "enum", "$ref", "$defs", "definitions",
        "pattern", "format", "minLength", "maxLength",
    }
)  # fmt: skip
_GRAMMAR_FORMATS = frozenset({"date", "time", "date-time", "uuid"})
_ANY_VALUE: dict[str, Any] = {
    "anyOf": [{"type": "string", "maxLength": STRING_MAX_LENGTH}, {"type": "number"}, {"type": "boolean"}]
}


@dataclass(frozen=True)
class Option:
    """One thing the model may answer with: a tool call, or the final text (plain or structured)."""

    name: str
    schema: dict[str, Any] | None  # tool parameters or structured-text schema; None for plain text
    is_text: bool = False
    description: str | None = None


def build_output_schema(options: list[Option]) -> dict[str, Any]:
    """The schema the grammar enforces: one option's own schema, or a `tool`-tagged union of all."""
    defs: dict[str, Any] = {}
    if len(options) == 1:
        root = _option_body(options[0], defs, prefix="")
    else:
        root = {"anyOf": [_tagged(option, defs, prefix=f"o{i}_") for i, option in enumerate(options)]}
    return {**root, "$defs": defs} if defs else root


def _option_body(option: Option, defs: dict[str, Any], prefix: str) -> dict[str, Any]:
    if option.schema is None:
        return {"type": "object", "properties": {"text": _text_schema()}, "required": ["text"]}
    return _hoist_defs(normalise_schema(option.schema), defs, prefix)


def _tagged(option: Option, defs: dict[str, Any], prefix: str) -> dict[str, Any]:
    tag = {"tool": {"const": option.name}}
    if option.schema is None:
        return {"type": "object", "properties": {**tag, "text": _text_schema()}, "required": ["tool", "text"]}
    arguments = _option_body(option, defs, prefix)
    return {"type": "object", "properties": {**tag, "arguments": arguments}, "required": ["tool", "arguments"]}


def _text_schema() -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": TEXT_MAX_LENGTH}


def normalise_schema(schema: Any) -> Any:
    """Rewrite a JSON schema into the subset llama.cpp's grammar converter handles, with bounded lengths."""
    if schema is True or schema == {}:
        return dict(_ANY_VALUE)
    if not isinstance(schema, dict):
        return schema
    node = {key: value for key, value in schema.items() if key in _KEPT_KEYWORDS}
    if isinstance(node.get("type"), list):
        rest = {key: value for key, value in node.items() if key != "type"}
        return normalise_schema({"anyOf": [{**rest, "type": kind} for kind in node["type"]]})
    if len(node.get("allOf", [])) == 1 and "properties" not in node:
        rest = {key: value for key, value in node.items() if key != "allOf"}
        return normalise_schema({**node["allOf"][0], **rest})
    if not node:
        return dict(_ANY_VALUE)
    for key in ("properties", "$defs", "definitions"):
        if key in node:
            node[key] = {name: normalise_schema(sub) for name, sub in node[key].items()}
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        if key in node:
            node[key] = [normalise_schema(sub) for sub in node[key]]
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            node[key] = normalise_schema(node[key])
    _bound(node, schema)
    return node


def _bound(node: dict[str, Any], original: dict[str, Any]) -> None:
    kind = node.get("type")
    if kind == "integer" and "enum" not in node and "const" not in node:
        if (values := _small_int_range(original)) is not None:
            node["enum"] = values
    if kind == "string":
        if node.get("format") not in _GRAMMAR_FORMATS:
            node.pop("format", None)
        if "pattern" in node and not _pattern_supported(node["pattern"]):
            del node["pattern"]
        if "maxLength" not in node and "enum" not in node and "const" not in node:
            node["maxLength"] = max(STRING_MAX_LENGTH, node.get("minLength", 0))
    if kind == "array" and isinstance(node.get("items"), dict) and "maxItems" not in node:
        node["maxItems"] = max(ARRAY_MAX_ITEMS, node.get("minItems", 0))
    if kind == "object" and "properties" not in node and "additionalProperties" not in node:
        node["additionalProperties"] = dict(_ANY_VALUE)


def _small_int_range(schema: dict[str, Any]) -> list[int] | None:
    low = schema.get("minimum", schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else None)
    high = schema.get("maximum", schema["exclusiveMaximum"] - 1 if "exclusiveMaximum" in schema else None)
    if not isinstance(low, int | float) or not isinstance(high, int | float):
        return None
    low, high = int(-(-low // 1)), int(high // 1)  # ceil / floor, in case of float bounds
    return list(range(low, high + 1)) if 0 < high - low + 1 <= INT_ENUM_MAX_SPAN else None


def _pattern_supported(pattern: str) -> bool:
    # The converter only takes anchored patterns and a subset of regex syntax; others are left to
    # pydantic's validation (and a retry).
    if not (pattern.startswith("^") and pattern.endswith("$")):
        return False
    try:
        schema_to_gbnf({"type": "string", "pattern": pattern})
    except Exception:  # the converter raises AssertionError/ValueError/KeyError on syntax it lacks
        return False
    return True


def _hoist_defs(schema: dict[str, Any], defs: dict[str, Any], prefix: str) -> dict[str, Any]:
    # llama.cpp resolves `#/$defs/...` against the document root, so an option's own definitions
    # move there, renamed with a per-option prefix.
    local = {**schema.pop("definitions", {}), **schema.pop("$defs", {})}
    renames = {name: f"{prefix}{name}" for name in local}

    def rewrite(node: Any) -> Any:
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {key: rewrite(value) for key, value in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith(("#/$defs/", "#/definitions/")):
            out["$ref"] = f"#/$defs/{renames.get(ref.rsplit('/', 1)[-1], ref.rsplit('/', 1)[-1])}"
        return out

    for name, sub in local.items():
        defs[renames[name]] = rewrite(sub)
    return rewrite(schema)


def schema_to_gbnf(schema: dict[str, Any]) -> str:
    """Convert a schema to a GBNF grammar, raising when llama.cpp's converter cannot."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return json_schema_to_gbnf(json.dumps(schema))


def load_json(raw: str, *, keep_partial_strings: bool) -> tuple[Any, bool]:
    """Parse model output; truncated JSON is parsed as far as it goes. Returns (value, complete)."""
    try:
        return json.loads(raw, strict=False), True
    except ValueError:
        pass
    # Grammar output never has raw control characters outside strings, so escaping them is safe.
    escaped = raw.strip().replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    try:
        partial = "trailing-strings" if keep_partial_strings else True
        return pydantic_core.from_json(escaped, allow_partial=partial), False
    except ValueError:
        return None, False


def describe_options(options: list[Option]) -> str:
    """The system-prompt text telling the model what each option is for and how to choose one."""
    if len(options) == 1:
        option = options[0]
        if option.schema is None:
            return 'Answer with one JSON object: {"text": "your answer"}.'
        if option.is_text:
            return f"Answer with one JSON object. {_doc(option, 'Fields')}"
        return f"Answer with one JSON object: the arguments of the tool `{option.name}`. {_doc(option, 'Arguments')}"
    lines = ['Answer with one JSON object. Choose one of these, writing {"tool": NAME, "arguments": {...}}:']
    for option in options:
        if option.schema is None:
            lines.append(f'- {option.name}: reply to the user in words, as {{"tool": "{option.name}", "text": "..."}}')
        else:
            lines.append(f"- {option.name}: {_doc(option, 'Arguments')}")
    return "\n".join(lines)


def _doc(option: Option, noun: str) -> str:
    schema = option.schema or {}
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    required = set(schema.get("required", []))
    params = [
        f"{name} ({_type_label(sub, defs)}{', required' if name in required else ''})"
        + (f": {sub['description']}" if isinstance(sub, dict) and sub.get("description") else "")
        for name, sub in schema.get("properties", {}).items()
    ]
    listing = f"{noun}: " + "; ".join(params) + "." if params else f"No {noun.lower()}."
    return f"{option.description.strip()} {listing}" if option.description else listing


def _type_label(schema: Any, defs: dict[str, Any]) -> str:
    if not isinstance(schema, dict):
        return "any"
    if "$ref" in schema:
        target = defs.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
        fields = ", ".join(target.get("properties", {}))
        return f"object with {fields}" if fields else "object"
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "one of " + " | ".join(json.dumps(value) for value in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(_type_label(sub, defs) for sub in schema[key])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type_label(schema.get('items'), defs)}"
    if kind in ("integer", "number") and ("minimum" in schema or "maximum" in schema):
        return f"{kind} {schema.get('minimum', '')}..{schema.get('maximum', '')}"
    return str(kind)
