from tui_orchestrator.cli import main

raise SystemExit(main())
