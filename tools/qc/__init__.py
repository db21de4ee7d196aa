"""Quality control: the gate every candidate sample passes (`gate.quality_gate`) and every check in it.

Deterministic checks first (`schema`: a draft becomes a valid sample, with `options` finding two options that
say the same; `leakage`; `evidence`, which finds
a grounded item's quoted spans in the user's material; `executed`, which runs solutions and code tests in
the `sandbox`), then the model-run checks (`inspection` with its repair step, `solve` for the independent
re-solve and adjudication, `closed_book` for a grounded item asked without its material, `verify` for a
single judge verdict, `dedup_judge` for near-duplicates the memory cannot settle). Modules here may import
`tools.contracts`, `tools.llm`, `tools.errors`, `tools.stages.brief`, `tools.sources` and `memory`; never
the engine, finishing or export.
"""
