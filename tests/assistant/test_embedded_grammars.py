"""The embedded model constrains every output the pipeline asks for: each pinned schema becomes its own grammar.

`grammar_for` falls back to "any JSON" (with a warning) for a schema llama.cpp's converter cannot express; the
README says every output of the embedded model is constrained, so no pinned schema may take that fallback.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")

from assistant.embedded_grammar import Option, grammar_for  # noqa: E402

SNAPSHOT = Path(__file__).parents[1] / "data" / "tool_schemas.json"
SCHEMAS = {f"{agent}/{tool}": spec["parameters"]
           for agent, entry in json.loads(SNAPSHOT.read_text()).items()
           for tool, spec in entry.get("tools", {}).items()}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_embedded_model_turns_the_schema_into_a_grammar_not_any_json(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the any-JSON fallback warns
        grammar = grammar_for([Option(name.split("/")[-1], SCHEMAS[name])])
    assert "root ::=" in grammar


@pytest.fixture(scope="module")
def vocab() -> object:
    import llama_cpp

    from assistant.embedded_model import packaged_gguf_path

    return llama_cpp.Llama(str(packaged_gguf_path()), vocab_only=True, verbose=False)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_llama_cpp_accepts_each_schemas_grammar_so_the_output_is_not_left_to_any_json(name: str, vocab: object) -> None:
    # The embedded model falls back to any JSON (with a warning) for a grammar llama.cpp's sampler rejects.
    import llama_cpp

    grammar = grammar_for([Option(name.split("/")[-1], SCHEMAS[name])])
    sampler = llama_cpp.llama_sampler_init_grammar(vocab._model.vocab, grammar.encode(), b"root")  # type: ignore[attr-defined]
    assert sampler, f"llama.cpp rejects the grammar of {name}"
    llama_cpp.llama_sampler_free(sampler)
