# The image that action.yml runs with `uses: docker://ghcr.io/<owner>/llmops-action:<version>`.
# BASE_IMAGE is an ARG so the image can be built from a mirror or a locally made base (no Docker Hub).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

LABEL org.opencontainers.image.title="llmops-action" \
      org.opencontainers.image.description="Evaluate LLM prompts on PRs, compare with the baseline, gate the merge." \
      org.opencontainers.image.licenses="MIT"

# git: the baseline store and the base-ref checkout; nothing else from apt is needed at run time.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/llmops-action
COPY pyproject.toml README.md ./
COPY llmops_action ./llmops_action
COPY entrypoint ./entrypoint

# Every dependency ships a wheel, so no compiler is installed and none is left behind.
# EXTRAS=bot builds the bot service's image (`llmops-action serve` / `worker`); the Action's stays light.
ARG EXTRAS=""
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".${EXTRAS:+[$EXTRAS]}" \
    && chmod 0755 /opt/llmops-action/entrypoint/entrypoint.py

# Docker actions run with the workspace at /github/workspace; the runner overrides WORKDIR with --workdir.
WORKDIR /github/workspace
ENTRYPOINT ["/opt/llmops-action/entrypoint/entrypoint.py"]
