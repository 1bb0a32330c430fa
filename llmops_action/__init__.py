"""llmops-action: evaluate versioned prompts on every pull request and gate the merge."""

__version__ = "0.1.0"
