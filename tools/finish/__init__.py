"""After the quotas are met: balanced answer positions, difficulty against a model panel, the quality report.

`run.finish` runs these in order over a build's accepted samples (`positions`, `panel`, `quality`).
May import `tools.contracts`, `tools.llm`, `tools.qc`, `tools.engine` (the ledger, prices), `tools.errors` and `memory`.
"""
