#!/usr/bin/env python3
"""Container entrypoint of the llmops-action image (and of the `runtime: python` path in action.yml).

Python, not /bin/sh: GitHub passes inputs as `INPUT_GITHUB-TOKEN` (hyphen kept), and dash, Debian's
/bin/sh, silently drops environment variables whose names are not shell identifiers before it execs
anything, so a shell entrypoint would lose every hyphenated input. All logic is in llmops_action.action.main.
"""

import sys

from llmops_action.action.main import main

if __name__ == "__main__":
    sys.exit(main())
