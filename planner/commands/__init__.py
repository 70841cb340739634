"""The planner's command line: ``owl-planner compile`` and ``owl-planner route``."""
