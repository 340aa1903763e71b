"""Where a site is kept: its private files, nothing else."""
