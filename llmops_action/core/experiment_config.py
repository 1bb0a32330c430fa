"""`experiments:` in `.llmops.yml` (issue 15): A/B tests on live traffic between two prompt versions or two models.

    experiments:
      - name: rag-answer-v2
        prompt: rag_answer                 # two versions of one prompt ...
        variants:
          control: {version: 1.1.0}
          treatment: {version: 1.2.0}      # ... or, without `prompt`, {model: gemini-2.5-pro}
        split: {control: 50, treatment: 50}
        metric: {name: thumbs_up, type: rate}
        guardrails:
          - {name: latency_ms, type: continuous, direction: decrease, tolerance: 50}
        min_samples: 100
        planned_samples: 1000

The lifecycle state (draft, running, paused, completed, cancelled) is not configured here: it lives in
the repository's experiment log (llmops_action/experiments/lifecycle.py), like the prompt registry's.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

VARIANTS = ("control", "treatment")
BASIS_POINTS = 10_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExperimentMetric(_Strict):
    """An outcome measured per unit: a rate (0/1, e.g. thumbs-up) or a continuous value."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    type: Literal["rate", "continuous"]
    direction: Literal["increase", "decrease"] = Field(
        "increase", description="Which way is better: `decrease` for latency, cost, errors."
    )
    tolerance: float = Field(
        0.0,
        ge=0,
        description="Guardrails: a harmful change smaller than this (metric units) is no regression.",
    )


class VariantConfig(_Strict):
    version: str | None = Field(None, description="Prompt version (with the experiment's `prompt`).")
    model: str | None = Field(None, description="Model id (without `prompt`).")


class Variants(_Strict):
    control: VariantConfig
    treatment: VariantConfig


class Split(_Strict):
    """Traffic weights; any positive numbers (50/50, 0.9/0.1), normalised to basis points."""

    control: float = Field(50, gt=0)
    treatment: float = Field(50, gt=0)

    def basis_points(self) -> tuple[int, int]:
        """(control, treatment) out of 10,000: what assignment compares the hash bucket with."""
        c = round(self.control / (self.control + self.treatment) * BASIS_POINTS)
        return c, BASIS_POINTS - c

    def weights(self) -> tuple[float, float]:
        c, t = self.basis_points()
        return c / BASIS_POINTS, t / BASIS_POINTS


class ExperimentConfig(_Strict):
    """One A/B experiment. Its name seeds the assignment hash, so renaming it reshuffles every unit."""

    # no ':' in a name: it separates the name from the unit id in the hashed string
    name: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
    description: str = ""
    prompt: str | None = Field(None, description="The prompt whose versions are compared.")
    variants: Variants
    split: Split = Field(default_factory=Split)
    metric: ExperimentMetric
    guardrails: list[ExperimentMetric] = Field(default_factory=list)
    min_samples: int = Field(100, ge=10, description="Units per variant before any decision.")
    planned_samples: int = Field(
        1000, ge=10, description="Units per variant for the fixed-n result (shown once reached)."
    )
    alpha: float = Field(0.05, gt=0, lt=0.5)
    mixing_sd: float = Field(
        0.1,
        gt=0,
        description="mSPRT mixing spread, in standard deviations of the metric: the effect size it is tuned for.",
    )
    srm_alpha: float = Field(0.001, gt=0, lt=0.5, description="The split check fails below this p-value.")

    @model_validator(mode="after")
    def _check(self) -> ExperimentConfig:
        need = "version" if self.prompt else "model"
        for name in VARIANTS:
            v: VariantConfig = getattr(self.variants, name)
            if getattr(v, need) in (None, ""):
                raise ValueError(
                    f"variant '{name}' needs '{need}'"
                    + (
                        " (the experiment names a prompt)"
                        if self.prompt
                        else " (or name a `prompt` to compare versions)"
                    )
                )
        if self.planned_samples < self.min_samples:
            raise ValueError("planned_samples must be >= min_samples")
        names = [self.metric.name, *(g.name for g in self.guardrails)]
        if len(set(names)) != len(names):
            raise ValueError("the primary metric and the guardrails need distinct names")
        return self

    def variant_label(self, variant: str) -> str:
        v: VariantConfig = getattr(self.variants, variant)
        return f"{self.prompt}@{v.version}" if self.prompt else str(v.model)


def check_unique(experiments: list[ExperimentConfig]) -> list[ExperimentConfig]:
    seen: set[str] = set()
    for e in experiments:
        if e.name in seen:
            raise ValueError(f"two experiments are named '{e.name}'")
        seen.add(e.name)
    return experiments


# The type config.py gives its `experiments:` field: the names must be unique.
Experiments = Annotated[list[ExperimentConfig], AfterValidator(check_unique)]
