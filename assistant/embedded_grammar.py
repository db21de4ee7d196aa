"""JSON schemas for the embedded model's grammar-constrained output, and reading that output back."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any, Literal, cast

import pydantic_core
from pydantic_ai.messages import TextPart, ToolCallPart
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models._tool_choice import resolve_tool_choice
from pydantic_ai.settings import ModelSettings

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


def _any_value() -> dict[str, Any]:
    # Stands in for an unconstrained value (`Any`), which the converter would otherwise make an unbounded object.
    return {"anyOf": [{"type": "string", "maxLength": STRING_MAX_LENGTH}, {"type": "number"}, {"type": "boolean"}]}


@dataclass(frozen=True)
class Option:
    """One thing the model may answer with: a tool call, or the final text (plain or structured)."""

    name: str
    schema: dict[str, Any] | None  # tool parameters or structured-text schema; None for plain text
    is_text: bool = False
    description: str | None = None


def options_for(
    settings: ModelSettings | None, params: ModelRequestParameters, *, function_tools: bool = True
) -> list[Option]:
    """What the model may answer with on this request, honouring `tool_choice`.

    With `function_tools=False` only final answers (output tools, text) are offered, where there are any.
    """
    choice = resolve_tool_choice(settings, params)
    tools = list(params.declared_tool_defs.values())  # visible function tools, then output tools
    allow_text = params.allow_text_output
    if choice == "none":
        tools = []
    elif choice == "required":
        allow_text = False
    elif isinstance(choice, tuple):
        tools = [tool for tool in tools if tool.name in choice[1]]
        allow_text = allow_text and choice[0] == "auto"
    finals = [tool for tool in tools if tool in params.output_tools]
    if not function_tools and (allow_text or finals):
        tools = finals
    options = [Option(tool.name, tool.parameters_json_schema, description=tool.description) for tool in tools]
    if allow_text or not options:
        taken = {option.name for option in options}
        name = next(n for n in ("reply", "reply_text", "final_reply") if n not in taken)
        output = params.output_object  # set for NativeOutput/PromptedOutput: the text must be this JSON
        schema, description = (output.json_schema, output.description) if output else (None, None)
        options.append(Option(name, schema, is_text=True, description=description))
    return options


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
        return _any_value()
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
        return _any_value()
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
    values = _small_int_range(original) if kind == "integer" else None
    if values is not None and "enum" not in node and "const" not in node:
        node["enum"] = values
    if kind == "string":
        if node.get("format") not in _GRAMMAR_FORMATS:
            node.pop("format", None)
        if "pattern" in node and not _pattern_supported(node["pattern"]):
            del node["pattern"]
        # Every string and array is capped, declared limits included: the grammar grows with each
        # allowed character, llama.cpp refuses (then crashes on) very large ones, and a tiny model
        # never writes that much well anyway.
        if "enum" not in node and "const" not in node:
            node["maxLength"] = max(min(node.get("maxLength", STRING_MAX_LENGTH), STRING_MAX_LENGTH),
                                    node.get("minLength", 0))
    if kind == "array" and isinstance(node.get("items"), dict):
        node["maxItems"] = max(min(node.get("maxItems", ARRAY_MAX_ITEMS), ARRAY_MAX_ITEMS), node.get("minItems", 0))
    if kind == "object" and "properties" not in node and node.get("additionalProperties", True) is True:
        node["additionalProperties"] = _any_value()


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
    return cast(dict[str, Any], rewrite(schema))


def grammar_for(options: list[Option]) -> str:
    """The GBNF grammar for `options`; a schema the converter cannot express degrades to any JSON, with a warning."""
    try:
        return schema_to_gbnf(build_output_schema(options))
    except Exception as error:  # the converter raises assorted errors on schemas it cannot express
        from llama_cpp.llama_grammar import JSON_GBNF

        warnings.warn(
            f"Embedded model: schema not expressible as a grammar ({error!r}); constraining to any JSON.", stacklevel=2
        )
        return JSON_GBNF


def schema_to_gbnf(schema: dict[str, Any]) -> str:
    """Convert a schema to a GBNF grammar, raising when llama.cpp's converter cannot."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return str(json_schema_to_gbnf(json.dumps(schema)))


def load_json(raw: str, *, keep_partial_strings: bool) -> tuple[Any, bool]:
    """Parse model output; truncated JSON is parsed as far as it goes. Returns (value, complete)."""
    try:
        return json.loads(raw, strict=False), True
    except ValueError:
        pass
    # Grammar output never has raw control characters outside strings, so escaping them is safe.
    escaped = raw.strip().replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    try:
        partial: Literal["trailing-strings"] | bool = "trailing-strings" if keep_partial_strings else True
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
        elif option.is_text:
            lines.append(f"- {option.name}: the final answer. {_doc(option, 'Arguments')}")
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
    description = (option.description or "").strip()
    if description and description[-1] not in ".!?":
        description += "."
    return f"{description} {listing}" if description else listing


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


def decode_output(raw: str, options: list[Option]) -> TextPart | ToolCallPart:
    """Turn the constrained JSON back into a part; malformed output still yields a part pydantic-ai can reject."""
    data, complete = load_json(raw, keep_partial_strings=False)
    chosen, payload = _pick(data, options)
    if chosen is not None and chosen.schema is None and not complete:  # truncated reply: keep what was written
        chosen, payload = _pick(load_json(raw, keep_partial_strings=True)[0], options)
    if chosen is None:
        if any(option.is_text for option in options):
            return TextPart(raw.strip())
        arguments = data.get("arguments") if isinstance(data, dict) else None
        return ToolCallPart(options[0].name, args=arguments if isinstance(arguments, dict) else {})
    if chosen.is_text:
        if chosen.schema is None:
            return TextPart(payload if isinstance(payload, str) and payload else raw.strip())
        return TextPart(json.dumps(payload) if payload is not None else raw.strip())
    return ToolCallPart(chosen.name, args=payload if isinstance(payload, dict) else {})


def _pick(data: Any, options: list[Option]) -> tuple[Option | None, Any]:
    if len(options) == 1:
        option = options[0]
        if option.schema is None:
            return option, data.get("text") if isinstance(data, dict) else None
        return option, data
    chosen = {option.name: option for option in options}.get(str(data.get("tool"))) if isinstance(data, dict) else None
    if chosen is None:
        return None, None
    return chosen, data.get("text" if chosen.schema is None else "arguments")
