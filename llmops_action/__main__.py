from llmops_action.cli import main

raise SystemExit(main())
