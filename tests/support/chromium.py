"""Debian's chromium, headless, the way this machine allows it: no sandbox (root), and none of the
background connections a closed network refuses."""

HEADLESS_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
