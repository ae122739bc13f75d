"""The segment report: the business view for whoever acts on it, then the reviewer's evidence."""
