"""The pipeline's stages, in the order a benchmark is made: requirements, design, refinement and plan edits,
per-sample briefs, generation.

Each module exposes one plain async function that takes and returns `tools.contracts` models and runs
its own agent with the model injected for its role (`tools.llm`). Stages may import `tools.contracts`,
`tools.llm`, `tools.errors`, `tools.qc.schema` (which turns a draft into a sample) and `memory`; never
the engine, finishing or export.
"""
