"""The bot service: a GitHub App that evaluates pull requests from webhooks (`pip install "llmops-action[bot]"`).

Two processes share one queue: `llmops-action serve` (the ASGI app: verify, dedupe, enqueue, answer 202) and
`llmops-action worker` (take jobs, fetch the repository's files through the API as data, evaluate, post the
sticky comment and the check runs). Nothing here runs repository code.
"""
