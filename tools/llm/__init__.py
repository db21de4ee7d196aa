"""How the pipeline talks to models: every model call of every stage goes through here.

`stage` runs a stage's agent with the model injected for its role, counts usage and turns failures
into errors a user can act on; `resilience` wraps endpoint models with retries and backoff, rate limits,
concurrency slots and the build's call cache, `faults` says which failures a retry may get past (broken
replies included: a body that is not JSON, or not a chat completion). Kept apart from the engine so that stages and checks can
call models without importing the build loop. Imports only `tools.contracts`, `tools.errors`, `memory`.
"""
