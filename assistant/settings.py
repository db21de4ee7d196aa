"""Settings, read once from the environment (prefix BENCHMARK_AGENT_) and passed down explicitly."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.contracts import Role

EMBEDDED_MODEL = "embedded:smollm2-135m"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BENCHMARK_AGENT_", env_file=".env", extra="ignore")

    # One model per role, in pydantic-ai's provider:name form; each falls back to `model`,
    # and with nothing set the embedded offline model is used.
    model: str | None = None
    chat_model: str | None = None
    generator_model: str | None = None
    judge_model: str | None = None
    solver_model: str | None = None
    # Reads the user's images; unset, the generator's model (and its endpoint) reads them.
    vision_model: str | None = None

    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("BENCHMARK_AGENT_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("BENCHMARK_AGENT_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    # Per-role endpoints, so that generator and judge can live on different servers; each falls back to
    # `openai_base_url`. The key is shared unless a role has its own.
    chat_base_url: str | None = None
    generator_base_url: str | None = None
    judge_base_url: str | None = None
    solver_base_url: str | None = None
    vision_base_url: str | None = None
    chat_api_key: SecretStr | None = None
    generator_api_key: SecretStr | None = None
    judge_api_key: SecretStr | None = None
    solver_api_key: SecretStr | None = None
    vision_api_key: SecretStr | None = None
    output_mode: Literal["auto", "tool", "native", "json_object", "prompted"] = Field(
        default="auto",
        description="How structured output is asked of OpenAI-compatible endpoints; auto probes each endpoint once.",
    )
    request_timeout_s: float = Field(default=120.0, gt=0)

    data_dir: Path = Path("data")
    # The chat history and thread states: SQLite under data_dir unless a PostgreSQL URL is given (for replicas).
    database_url: str | None = None
    build_lease_timeout_s: float = Field(
        default=60.0, ge=5, description="How long a build's lease outlives the last heartbeat of its server process.")
    max_size: int = Field(default=500, ge=1, description="Largest benchmark a single build may produce.")
    default_size: int = Field(default=20, ge=1)
    batch_size: int = Field(default=4, ge=1, le=20, description="Samples asked of the generator per call.")
    max_rounds_per_sample: float = Field(
        default=3.0, gt=1, description="Candidates a subtask may generate in all, as a multiple of its quota."
    )
    dedup_threshold: float = Field(
        default=0.74, gt=0, le=1,
        description="Question similarity from which a same-answer candidate is a duplicate (calibrated, memory/dedup.py).",
    )
    # Vector memory: embedded under data_dir by default; a `chroma run` server when a host is set.
    chroma_host: str | None = Field(
        default=None, validation_alias=AliasChoices("BENCHMARK_AGENT_CHROMA_HOST", "CHROMA_HOST")
    )
    chroma_port: int | None = Field(
        default=None, ge=1, le=65535, validation_alias=AliasChoices("BENCHMARK_AGENT_CHROMA_PORT", "CHROMA_PORT")
    )
    concurrency: int = Field(default=8, ge=1, le=256, description="Model calls in flight at once during a build.")
    rate_limit_rpm: int | None = Field(default=None, ge=1, description="Requests per minute allowed per endpoint.")
    rate_limit_tpm: int | None = Field(default=None, ge=1, description="Tokens per minute allowed per endpoint.")
    endpoint_down_timeout_s: float = Field(
        default=300.0, gt=0, description="How long an endpoint may keep failing before a build stops (saving its work)."
    )
    # ~6x the estimate for a build of max_size (500) samples with every check on: a runaway build stops, a big one does not.
    max_tokens: int | None = Field(default=5_000_000, ge=1, description="Token budget of one build; it stops cleanly when spent.")
    max_cost: float | None = Field(default=None, gt=0, description="Dollar budget of one build.")
    prices: str | None = Field(
        default=None, description="Prices of models without a published one: MODEL=IN/OUT dollars per million tokens, comma-separated."
    )
    # Quality control (tools/qc.py): every candidate goes through these checks before it is accepted.
    qc: bool = Field(default=True, description="Full quality gate; off = a single judge verdict per sample.")
    qc_repair: bool = True
    qc_resolve: bool = Field(default=True, description="Independent re-solve by the solver model.")
    design_briefs: bool = Field(default=True, description="A design brief per sample before it is written.")
    require_solutions: bool = Field(
        default=True, description="Drop numeric items without a solution program; false keeps them, flagged in the reports.",
    )
    sandbox_timeout_s: float = Field(default=10.0, gt=0)
    sandbox_memory_mb: int = Field(default=512, ge=64)
    panel_models: str | None = Field(default=None, description="Comma-separated provider:name models that answer every item.")
    target_band: str | None = Field(default=None, description="Target panel accuracy, e.g. '0.2-0.6'.")
    panel_attempts: int = Field(default=1, ge=1, le=10)
    calibration_rounds: int = Field(default=2, ge=0, le=10)
    quality_sample_size: int = Field(default=20, ge=0, description="Items the quality judge scores (0 = no quality report).")
    embedded_model_path: Path | None = None
    embedded_threads: int | None = None
    preview_size: int = Field(default=3, ge=1, le=5, description="Preview samples shown per subtask before a build.")

    # The user's material (files attached in the chat, or --source): what is read of it (tools.sources).
    max_upload_mb: int = Field(default=20, ge=1, description="Largest file read, in MB.")
    max_uploads: int = Field(default=5, ge=1, description="Files read from one message (or one --source list).")
    max_source_pages: int = Field(default=500, ge=1, description="PDF pages, or document sections, read per file.")
    max_records: int = Field(default=10_000, ge=1, description="Records read per data file.")

    # Who may use the chat (assistant/auth.py). `auto`: a password form when any user is configured (in the
    # users file, hashed, or in `auth_users`), else the one `local_user`, allowed only on a loopback address.
    # `header`: a trusted proxy names the user in `auth_header`, only when turned on here.
    auth: Literal["auto", "password", "header", "local"] = "auto"
    auth_users: SecretStr | None = None
    users_file: Path | None = Field(default=None, description="name:hash lines; unset, DATA_DIR/users.txt.")
    auth_header: str | None = None
    local_user: str = Field(default="researcher", min_length=1, max_length=80)
    allowed_origins: str = Field(
        default="", description="Comma-separated origins other sites may call the server from (CORS); none by default.")

    # What one user may ask of a shared server.
    max_message_chars: int = Field(default=20_000, ge=100, description="Longest chat message read, in characters.")
    max_builds_per_user: int = Field(default=2, ge=1, description="Builds one user may run at once.")
    max_builds: int = Field(default=8, ge=1, description="Builds the server runs at once, all users together.")

    def band(self) -> tuple[float, float] | None:
        """The target accuracy band as fractions, from '0.2-0.6' or '20-60'."""
        if not self.target_band:
            return None
        low, _, high = self.target_band.replace("%", "").partition("-")
        values = [float(low), float(high)]
        if max(values) > 1:
            values = [v / 100 for v in values]
        if not 0 <= values[0] < values[1] <= 1:
            raise ValueError(f"target band {self.target_band!r} must be two increasing numbers between 0 and 1 (or 0 and 100)")
        return values[0], values[1]

    def panel(self) -> list[str]:
        return [name.strip() for name in (self.panel_models or "").split(",") if name.strip()]

    def _own(self, role: Role | None) -> Role | None:
        """The role whose settings `role` uses: the generator's for images when no vision model is set."""
        return "generator" if role == "vision" and not self.vision_model else role

    def model_for(self, role: Role) -> str:
        specific = getattr(self, f"{self._own(role)}_model")
        return specific or self.model or EMBEDDED_MODEL

    def base_url_for(self, role: Role | None) -> str | None:
        """The OpenAI-compatible base URL a role's model is served from (its own, else the shared one)."""
        role = self._own(role)
        own: str | None = getattr(self, f"{role}_base_url") if role else None
        return own or self.openai_base_url

    def api_key_for(self, role: Role | None) -> str | None:
        role = self._own(role)
        own: SecretStr | None = getattr(self, f"{role}_api_key") if role else None
        key = own or self.openai_api_key
        return key.get_secret_value() if key else None

    def users_path(self) -> Path:
        return self.users_file or self.data_dir / "users.txt"

    def origins(self) -> list[str]:
        return [origin.strip().rstrip("/") for origin in self.allowed_origins.split(",") if origin.strip()]
