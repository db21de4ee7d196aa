"""Quality control: the gate every candidate sample passes (`gate.quality_gate`) and every check in it.

Deterministic checks first (`schema`: a draft becomes a valid sample; `leakage`; `executed`, which runs
solutions and code tests in the `sandbox`), then the model-run checks (`inspection` with its repair step,
`solve` for the independent re-solve and adjudication, `verify` for a single judge verdict, `dedup_judge`
for near-duplicates the memory cannot settle). Modules here may import `tools.contracts`, `tools.llm`,
`tools.errors`, `tools.stages.brief` and `memory`; never the engine, finishing or export.
"""
