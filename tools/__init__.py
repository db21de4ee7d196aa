"""The pipeline that turns a spec into a checked benchmark, one sub-package per part.

    contracts/  the pydantic models that pass between the parts (spec, plan, sample, checks, report, events)
    llm/        model plumbing: running a stage agent, retries, rate limits, slots, the call cache
    stages/     requirements, design, refinement and plan edits, preview, briefs, generation
    qc/         the quality gate and every check in it, and the sandbox that runs generated code
    engine/     the build loop, its checkpoint ledger and its budget
    finish/     answer positions, the difficulty panel, the quality report
    export/     the files handed over and the dataset card
    pipeline    the whole pipeline end to end; errors: the failures a user can act on
    sharing     publishing a finished benchmark to the shared catalog (and taking it back)

Imports go one way, `assistant -> tools -> memory`; nothing here imports Chainlit or `assistant`.
"""
