"""Raw events to validated events, point-in-time feature tables and labels."""
