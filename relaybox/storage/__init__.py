"""Persistence in the data dir: SQLite for records, plain files for media."""
