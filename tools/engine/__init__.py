"""The build engine: the loop that generates, checks and de-duplicates until every quota is met.

`build` plans batches from a sliding window over decided ones and runs them concurrently; `batches`
holds one build's mutable state; `ledger` records every decision to append-only checkpoints (resume);
`budget` estimates cost before a build and stops it when a limit is reached; `preview` writes a few samples
per subtask through the same generator and quality gate, for the user to review before the build. The engine may import
`tools.contracts`, `tools.llm`, `tools.stages`, `tools.qc`, `tools.errors` and `memory`.
"""
