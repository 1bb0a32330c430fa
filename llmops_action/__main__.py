from llmops_action.cli.main import main

raise SystemExit(main())
