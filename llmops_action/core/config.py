"""`.llmops.yml`: pydantic models, loading with file/line/key errors, and the config hash.

Unknown keys are errors (extra="forbid") and the nearest valid key is suggested, so a typo never
silently turns a gate off.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from llmops_action.core.alert_config import AlertsConfig
from llmops_action.core.config_errors import validation_error
from llmops_action.core.experiment_config import Experiments
from llmops_action.core.textfile import read_text
from llmops_action.core.yamlpos import Located, load_yaml
from llmops_action.errors import UserInputError

DEFAULT_CONFIG_FILE = ".llmops.yml"
SCHEMA_VERSION = 1


class _Strict(BaseModel):
    # strict: a quoted number ('0.2') or a quoted boolean is an error, never silently converted
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class RetryConfig(_Strict):
    attempts: int = Field(4, ge=1, le=20, description="Attempts per call, the first included.")
    initial_delay: float = Field(1.0, ge=0, description="Seconds before the first retry.")
    max_delay: float = Field(60.0, ge=0, description="Upper bound on one backoff sleep, in seconds.")
    timeout: float = Field(60.0, gt=0, description="Seconds one call may take before it counts as a timeout.")


class ProviderConfig(_Strict):
    """What produces the output to be scored."""

    type: Literal["gemini", "python", "command", "outputs"]
    model: str | None = Field(None, description="Gemini model id (type: gemini).")
    base_url: str | None = Field(None, description="Gateway/proxy URL; GOOGLE_GEMINI_BASE_URL also works.")
    temperature: float | None = None
    seed: int | None = None
    max_tokens: int | None = Field(None, ge=1)
    function: str | None = Field(None, description="module:function in the repository (type: python).")
    command: str | None = Field(
        None, description="Shell command; the case arrives as JSON on stdin (type: command)."
    )
    path: str | None = Field(
        None, description="JSONL of precomputed outputs keyed by case id (type: outputs)."
    )
    timeout: float = Field(60.0, gt=0, description="Seconds per case.")

    @model_validator(mode="after")
    def _needs(self) -> ProviderConfig:
        need = {"gemini": "model", "python": "function", "command": "command", "outputs": "path"}[self.type]
        if getattr(self, need) in (None, ""):
            raise ValueError(f"provider type '{self.type}' needs '{need}'")
        if self.type == "python" and ":" not in (self.function or ""):
            raise ValueError("function must look like 'package.module:function'")
        return self


class JudgeSpec(_Strict):
    """One judge of a panel: a Gemini model, or a model behind an OpenAI-compatible endpoint (issue 14)."""

    model: str
    provider: Literal["gemini", "openai"] = "gemini"
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$", description="Label; default: the model.")
    base_url: str | None = Field(
        None, description="Gemini gateway, or the OpenAI-compatible /v1 URL (vLLM, Ollama, a gateway)."
    )
    api_key_env: str | None = Field(
        None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="Environment variable holding this judge's key (openai default: OPENAI_API_KEY; "
        "a local server needs none).",
    )

    @property
    def label(self) -> str:
        return self.name or self.model


class JudgeConfig(_Strict):
    """The LLM judge (Gemini through google-genai), or a panel of judges combined into one score."""

    model: str = "gemini-2.5-flash"
    base_url: str | None = None
    samples: int = Field(
        1, ge=1, le=10, description="Judgements averaged per case; their spread is recorded."
    )
    temperature: float = 0.0
    max_field_chars: int = Field(8000, ge=100, description="Each untrusted field is capped at this length.")
    judges: list[JudgeSpec] = Field(
        default_factory=list, description="Several judges; when given, `model`/`base_url` are not used."
    )
    combine: Literal["mean", "median", "min"] = Field(
        "mean", description="How the judges' and samples' scores make the case score."
    )
    min_judges: int | None = Field(
        None, ge=1, description="Judges that must answer for a consensus; default: all of them."
    )

    @model_validator(mode="after")
    def _panel(self) -> JudgeConfig:
        if self.judges and self.model_fields_set & {"model", "base_url"}:
            raise ValueError("give either 'model' (one judge) or 'judges' (a panel), not both")
        labels = [j.label for j in self.judges]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"two judges are labelled '{dupes[0]}'; give one a 'name'")
        if self.min_judges is not None and self.min_judges > max(len(self.judges), 1):
            raise ValueError(
                f"min_judges {self.min_judges} is more than the {max(len(self.judges), 1)} judges"
            )
        return self

    @property
    def panel(self) -> list[JudgeSpec]:
        """The judges, the single-judge form included (one Gemini judge)."""
        return list(self.judges) or [JudgeSpec(model=self.model, base_url=self.base_url)]


MetricType = Literal[
    "exact_match",
    "contains",
    "regex",
    "keyword_recall",
    "context_recall",
    "json_valid",
    "bleu",
    "rouge_l",
    "length",
    "pii",
    "prompt_injection",
    "judge",
]
JUDGE_CRITERIA = ("faithfulness", "answer_relevance", "safety", "custom")


class MetricConfig(_Strict):
    """One metric. `name` defaults to the type (or the criterion, for judge metrics)."""

    type: MetricType
    name: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]*$")
    weight: float = Field(0.0, ge=0, description="Weight in the aggregate `score` (0 = not part of it).")
    # exact_match / contains / regex
    value: str | None = None
    pattern: str | None = None
    case_sensitive: bool = True
    # json_valid
    json_schema: dict[str, Any] | None = Field(None, alias="schema")
    # judge
    criterion: Literal["faithfulness", "answer_relevance", "safety", "custom"] | None = None
    rubric: str | None = None
    # YAML has no tuples: accept a list here, but keep both ends strict integers
    scale: Annotated[tuple[StrictInt, StrictInt], Field(strict=False)] = (1, 5)
    # pass/fail threshold used by McNemar and case counts; None = a continuous score
    threshold: float | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True)

    @model_validator(mode="after")
    def _check(self) -> MetricConfig:
        if self.type == "judge":
            if self.criterion is None:
                raise ValueError(
                    "judge metrics need 'criterion' (faithfulness, answer_relevance, safety, custom)"
                )
            if self.criterion == "custom" and not self.rubric:
                raise ValueError("a custom judge criterion needs 'rubric'")
            if self.scale[0] >= self.scale[1]:
                raise ValueError("scale must be [low, high] with low < high")
        if self.type == "regex" and not self.pattern:
            raise ValueError("regex metrics need 'pattern'")
        if self.type == "regex" and self.pattern:
            import regex  # the engine rules.py matches with; imported here only for regex metrics

            try:
                regex.compile(self.pattern)
            except regex.error as exc:
                raise ValueError(f"invalid regex {self.pattern!r}: {exc}") from None
        if self.type == "contains" and self.value is None:
            raise ValueError("contains metrics need 'value'")
        return self

    @property
    def key(self) -> str:
        if self.name:
            return self.name
        if self.type == "judge" and self.criterion and self.criterion != "custom":
            return self.criterion
        return self.type


class AbsoluteGate(_Strict):
    """min/max on any aggregate: a metric name, `score`, `latency_p95_ms`, `cost_usd`, `error_rate`..."""

    metric: str
    min: float | None = None
    max: float | None = None
    blocking: bool = True
    name: str | None = None

    @model_validator(mode="after")
    def _one(self) -> AbsoluteGate:
        if self.min is None and self.max is None:
            raise ValueError("a gate needs 'min' or 'max'")
        return self


class RegressionGates(_Strict):
    metrics: list[str] = Field(
        default_factory=lambda: ["score"], description="Metrics gated against the base."
    )
    delta: float = Field(
        0.05, ge=0, description="Practical threshold: block only on a drop of at least this."
    )
    alpha: float = Field(0.05, gt=0, lt=1)
    latency_p95_pct: float | None = Field(
        None, ge=0, description="Fail when p95 latency grows by more than this %."
    )
    latency_p95_min_ms: float = Field(
        0.0,
        ge=0,
        description="...and by at least this many milliseconds: a floor so that jitter on a fast app "
        "(40 ms -> 55 ms is +37%) does not block.",
    )
    cost_pct: float | None = Field(None, ge=0, description="Fail when total cost grows by more than this %.")
    blocking: bool = True


class DriftConfig(_Strict):
    signals: list[str] | None = Field(None, description="Signals to report; default: all known signals.")
    warning: float = Field(0.1, ge=0)
    critical: float = Field(0.25, ge=0)
    alpha: float = Field(0.01, gt=0, lt=1, description="Leaving `ok` also requires p below this.")
    block: list[str] = Field(default_factory=list, description="Signals whose critical drift fails the job.")

    @model_validator(mode="after")
    def _order(self) -> DriftConfig:
        if self.critical < self.warning:
            raise ValueError("critical must be >= warning")
        return self


class GatesConfig(_Strict):
    absolute: list[AbsoluteGate] = Field(default_factory=list)
    regression: RegressionGates = Field(default_factory=RegressionGates)


class BaselineConfig(_Strict):
    store: Literal["dir", "git-branch", "mlflow"] = "git-branch"
    path: str = ".llmops/baselines"
    branch: str = "llmops-baselines"
    remote: str = "origin"
    mode: Literal["stored", "rerun"] = "stored"
    max_ancestors: int = Field(50, ge=0)


class TrackingConfig(_Strict):
    enabled: bool = True
    uri: str | None = Field(
        None, description="Default: MLFLOW_TRACKING_URI, else the project's sqlite store .llmops/mlflow.db."
    )
    experiment: str | None = None
    timeout: float = Field(
        120.0,
        gt=0,
        description="Seconds the end of a run waits for MLflow logging to complete; past it, one warning.",
    )


class CacheConfig(_Strict):
    enabled: bool = True
    dir: str = ".llmops/cache"


class LimitsConfig(_Strict):
    """Caps that keep one case from filling memory or results.json (untrusted PR content decides sizes)."""

    max_prompt_chars: int = Field(
        200_000,
        ge=1,
        description="A rendered prompt (system + user) longer than this stops the run (exit 2).",
    )
    max_field_bytes: int = Field(
        1_000_000,
        ge=1,
        description="A case field (a variable, the reference) or an output larger than this is an error on "
        "that case.",
    )


class Price(_Strict):
    input: float = Field(..., ge=0, description="USD per 1M input tokens.")
    output: float = Field(..., ge=0, description="USD per 1M output tokens.")


class SelftestConfig(_Strict):
    """`llmops-action selftest`: which degradations to inject (issue 14)."""

    language: str | None = Field(
        None,
        pattern=r"^[a-z]{2}$",
        description="ISO 639-1 code of the language answers must be in; enables the `language` mutation.",
    )
    mutations: list[str] | None = Field(None, description="Mutations to run; default: all that apply.")


class LlmopsConfig(_Strict):
    """Root of `.llmops.yml`."""

    version: Literal[1] = 1
    suite: str = Field("default", pattern=r"^[A-Za-z0-9_.-]+$")
    prompts: list[str] = Field(
        default_factory=lambda: ["prompts"], description="Prompt files, folders or globs."
    )
    datasets: list[str] = Field(..., min_length=1, description="JSONL / YAML / CSV files or globs.")
    provider: ProviderConfig
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    metrics: list[MetricConfig] = Field(..., min_length=1)
    gates: GatesConfig = Field(default_factory=GatesConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    baseline: BaselineConfig = Field(default_factory=BaselineConfig)
    tracking: TrackingConfig | bool = Field(default_factory=TrackingConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    concurrency: int = Field(8, ge=1, le=256)
    rpm: int | None = Field(None, ge=1, description="Requests per minute across provider and judge.")
    retries: RetryConfig = Field(default_factory=RetryConfig)
    max_error_rate: float = Field(0.05, ge=0, le=1)
    pricing: dict[str, Price] = Field(default_factory=dict, description="Per-model price table.")
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    schedule: str | None = Field(
        None,
        pattern=r"^\s*\S+(\s+\S+){4}\s*$",
        description="Cron expression (5 fields, UTC): the bot's continuous evaluation of the default branch.",
    )
    experiments: Experiments = Field(default_factory=list, description="A/B tests on live traffic.")
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    selftest: SelftestConfig = Field(default_factory=SelftestConfig)

    @field_validator("tracking", mode="after")
    @classmethod
    def _tracking_bool(cls, v: TrackingConfig | bool) -> TrackingConfig:
        return TrackingConfig(enabled=v) if isinstance(v, bool) else v

    @field_validator("metrics", mode="after")
    @classmethod
    def _unique_metrics(cls, metrics: list[MetricConfig]) -> list[MetricConfig]:
        # a field validator, so the error points at the `metrics:` line rather than the file's top
        seen: set[str] = set()
        for m in metrics:
            if m.key in seen:
                raise ValueError(f"two metrics are named '{m.key}'; give one a 'name'")
            seen.add(m.key)
        if "score" in seen:
            raise ValueError("'score' is reserved for the weighted aggregate")
        return metrics

    @property
    def tracking_config(self) -> TrackingConfig:
        assert isinstance(self.tracking, TrackingConfig)
        return self.tracking

    def metric(self, key: str) -> MetricConfig | None:
        return next((m for m in self.metrics if m.key == key), None)

    @property
    def judge_metrics(self) -> list[MetricConfig]:
        return [m for m in self.metrics if m.type == "judge"]

    def config_hash(self) -> str:
        """Hash of what makes two runs comparable; cosmetic settings (concurrency, cache, tracking) are left out."""
        relevant = self.model_dump(
            mode="json",
            include={"suite", "prompts", "datasets", "provider", "judge", "metrics"},
            by_alias=True,
        )
        if not self.judge.judges:  # the panel keys (issue 14) leave a one-judge config's hash as it was
            for key in ("judges", "combine", "min_judges"):
                relevant["judge"].pop(key, None)
        blob = json.dumps(relevant, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def parse_config(text: str, file: str = DEFAULT_CONFIG_FILE) -> LlmopsConfig:
    return parse_config_located(text, file)[0]


def parse_config_located(text: str, file: str = DEFAULT_CONFIG_FILE) -> tuple[LlmopsConfig, Located]:
    located = load_yaml(text, file)
    if not isinstance(located.data, dict):
        raise UserInputError("the config must be a YAML mapping", file=file, line=1)
    try:
        config = LlmopsConfig.model_validate(located.data)
    except ValidationError as exc:
        raise validation_error(exc, located, LlmopsConfig) from None
    from llmops_action.core.config_names import check_metric_names

    check_metric_names(config, located)
    return config, located


def load_config(path: str | os.PathLike[str]) -> LlmopsConfig:
    return load_config_located(path)[0]


def load_config_located(path: str | os.PathLike[str]) -> tuple[LlmopsConfig, Located]:
    """The config and where each of its keys is, for errors found later (datasets, cases)."""
    p = Path(path)
    if p.is_dir():
        inside = p / DEFAULT_CONFIG_FILE
        raise UserInputError(
            "--config names a folder; it needs the config file",
            file=str(p),
            key="--config",
            hint=f"Pass --config {inside}." if inside.is_file() else "Pass the path of a .llmops.yml.",
        )
    try:
        text = read_text(p, "config file")
    except UserInputError as exc:
        if not p.exists():
            exc.hint = "Create a .llmops.yml (see examples/quickstart/.llmops.yml) or pass --config."
        raise
    return parse_config_located(text, str(p))


def json_schema() -> dict[str, Any]:
    schema = LlmopsConfig.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = ".llmops.yml"
    return schema
