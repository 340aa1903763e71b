"""The only code that changes a site (commands) and describes it (queries)."""
