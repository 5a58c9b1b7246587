"""Read queries, one module per area (records, review, uploads, submissions, audit)."""

from onboarding.selectors.records import record_get, record_history, record_list, record_status_counts

__all__ = ["record_get", "record_history", "record_list", "record_status_counts"]
