"""Temporary: the store room is being split out of dictate.history on its own branch."""

from dictate.history import Entry, EntryStateError, History, HistoryError, UnknownEntry, endpoint_host, parse_id

__all__ = ["Entry", "EntryStateError", "History", "HistoryError", "UnknownEntry", "endpoint_host", "parse_id"]
