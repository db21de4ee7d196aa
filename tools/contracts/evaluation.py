"""What an evaluation of models on a finished benchmark finds: scores with intervals, and how they moved."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from tools.contracts.base import Strict


class ModelScore(Strict):
    model: str
    correct: int
    items: int
    accuracy: float = Field(ge=0, le=1)
    interval: tuple[float, float] = Field(description="95 % Wilson score interval of the accuracy.")
    subtasks: dict[str, float] = Field(default_factory=dict, description="Subtask id -> accuracy.")
    previous: float | None = Field(default=None, description="Its accuracy in the previous evaluation of this benchmark.")


class Consistency(Strict):
    """How our ranking of the models agrees with the order the user expects (strongest first)."""

    expected: list[str]
    models: int
    spearman: float | None = Field(description="None when it is undefined (fewer than 2 models, or all tied).")
    kendall: float | None
    reference: dict[str, float] | None = Field(
        default=None, description="The models' scores on a reference benchmark, when the user gave them.")


class Leaderboard(Strict):
    build_id: str
    created_at: datetime
    items: int
    scores: list[ModelScore] = Field(description="Best first.")
    difficulty: float = Field(ge=0, le=1, description="1 - the best model's accuracy.")
    separability: float = Field(ge=0, le=1, description="Mean absolute deviation of the models' accuracies.")
    unsolved: list[str] = Field(default_factory=list, description="Ids of the items every model got wrong.")
    consistency: Consistency | None = None
    previous_at: datetime | None = Field(default=None, description="When this benchmark was last evaluated.")
    ungraded: dict[str, list[str]] = Field(
        default_factory=dict, description="Model -> ids of items whose answer the judge did not grade (the budget "
        "ran out): those items are left out of every score rather than counted wrong.")
