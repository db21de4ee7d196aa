"""The failures a user can act on.

    BenchmarkAgentError          base: every message says what to do next
    ├── InvalidRequest           the request itself cannot be built (empty, size out of range)
    │   └── InvalidEdit          a change to the plan that cannot be made (unknown subtask, quota too large)
    ├── ConfigurationError       a setting is wrong (unknown model name, missing API key)
    ├── ModelUnavailable         the model endpoint cannot be reached or refuses us
    ├── BudgetReached            the build's token or cost budget is spent
    └── StageFailed              a stage got no usable output from its model after retries

Malformed model output that the model can fix is not an error here: stage agents raise
pydantic-ai's `ModelRetry` or let output validation retry, and only give up with `StageFailed`.
"""

from __future__ import annotations


class BenchmarkAgentError(Exception):
    """Base class; `str(error)` is shown to the user as is."""


class InvalidRequest(BenchmarkAgentError):
    pass


class InvalidEdit(InvalidRequest):
    pass


class ConfigurationError(BenchmarkAgentError):
    pass


class ModelUnavailable(BenchmarkAgentError):
    pass


class BudgetReached(BenchmarkAgentError):
    pass


class StageFailed(BenchmarkAgentError):
    pass
