"""Log records as one JSON object per line, each with the id of the request and of the user it belongs to.

Messages name records by id, never by name, RFC or CURP. An exception is logged by its type and stack, not its
text: a database or parser error quotes the values it choked on (a DETAIL line with an RFC, a cell), and those
are client data. `LOG_EXCEPTION_MESSAGES=True` adds the text where that is acceptable (a developer's machine).
"""

import datetime
import json
import logging
import traceback


class RequestContextFilter(logging.Filter):
    """Adds `request_id` and `user_id` from the request being served (or the one Django passes with the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from onboarding.middleware import current_request  # late: logging is configured before the apps load

        request = getattr(record, "request", None) or current_request()
        record.request_id = getattr(request, "request_id", "")
        # Only a user already loaded for the request: a log line must never cost a query (or log one).
        user = getattr(request, "_cached_user", None)
        record.user_id = user.pk if user is not None and user.is_authenticated else None
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, *args, exception_messages: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.exception_messages = exception_messages

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or None,
            "user_id": getattr(record, "user_id", None),
        }
        status = getattr(record, "status_code", None)
        if status is not None:
            entry["status"] = status
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, exc, tb = record.exc_info
            entry["exception"] = f"{exc_type.__module__}.{exc_type.__qualname__}"
            if self.exception_messages:
                entry["exception_message"] = str(exc)
            entry["stack"] = "".join(traceback.format_tb(tb))
        return json.dumps(entry, ensure_ascii=False, default=str)
