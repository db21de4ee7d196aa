"""Every JSON schema the pipeline sends compiles with llama.cpp's own schema-to-grammar converter and parser.

A grammar-constrained server (llama-cpp-python's, llama.cpp's `llama-server`) converts each tool or response
schema to a GBNF grammar; one it cannot compile leaves output unconstrained, and llama.cpp has crashed on some.
The schemas are those pinned in tests/data/tool_schemas.json. The check runs in a child process, so a crash
in libllama fails a test instead of the test run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("llama_cpp")

SNAPSHOT = Path(__file__).parents[1] / "data" / "tool_schemas.json"
SCHEMAS = {f"{agent}/{tool}": spec["parameters"]
           for agent, entry in json.loads(SNAPSHOT.read_text()).items()
           for tool, spec in entry.get("tools", {}).items()}

_CHECK = r"""
import json, sys
import llama_cpp
from llama_cpp.llama_grammar import json_schema_to_gbnf
from assistant.embedded_model import packaged_gguf_path
params = llama_cpp.llama_model_default_params()
params.vocab_only = True
model = llama_cpp.llama_model_load_from_file(str(packaged_gguf_path()).encode(), params)
vocab = llama_cpp.llama_model_get_vocab(model)
for name, schema in json.loads(sys.stdin.read()).items():
    try:
        grammar = json_schema_to_gbnf(json.dumps(schema))
    except Exception as error:
        verdict = f"converter failed: {error!r}"
    else:
        sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
        verdict = "ok" if sampler else f"parser refused the grammar ({len(grammar)} bytes)"
    print(json.dumps([name, verdict]), flush=True)
"""


@pytest.fixture(scope="module")
def verdicts() -> dict[str, str]:
    run = subprocess.run([sys.executable, "-c", _CHECK], input=json.dumps(SCHEMAS), capture_output=True, text=True,
                         timeout=300, cwd=Path(__file__).parents[2])
    seen: dict[str, Any] = dict(json.loads(line) for line in run.stdout.splitlines() if line.startswith("["))
    if run.returncode != 0:
        crashed = next((name for name in SCHEMAS if name not in seen), "?")
        seen[crashed] = f"llama.cpp crashed (exit {run.returncode}): {run.stderr[-300:]}"
    return seen


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_schema_compiles_to_a_llama_cpp_grammar(verdicts: dict[str, str], name: str) -> None:
    assert verdicts.get(name) == "ok", verdicts.get(name, "not reached: an earlier schema crashed llama.cpp")


def test_a_long_text_limit_is_checked_after_parsing_not_sent_as_max_length() -> None:
    from tools.contracts import SampleBatch

    context = SCHEMAS["generator/submit_samples"]["$defs"]["SampleDraft"]["properties"]["context"]
    assert "maxLength" not in json.dumps(context)
    with pytest.raises(ValueError, match="at most 2000 characters"):
        SampleBatch.model_validate({"samples": [{"question": "q", "answer": "a", "context": "x" * 2001}]})
