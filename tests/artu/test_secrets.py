"""The API key reaches Artu's Authorization header and nothing else: no log line, exception or repr."""

import logging
import sys
import traceback

import pytest
from django.views.debug import ExceptionReporter

from onboarding.artu.client import ArtuAmbiguous, ArtuAuthError, ArtuClient, ArtuError, ArtuUnavailable

LOGGERS = ("", "httpx", "httpcore", "onboarding", "onboarding.artu", "onboarding.artu.sandbox")


def rendered(error: BaseException) -> str:
    """Everything an operator could see of an exception: str, repr, traceback, Django's error page text."""
    try:
        raise error
    except ArtuError:
        exc_info = sys.exc_info()
    reporter = ExceptionReporter(None, *exc_info)
    return "\n".join(
        [str(error), repr(error), repr(error.args), repr(vars(error)), *traceback.format_exception(error)]
        + [reporter.get_traceback_text()]
    )


@pytest.fixture
def debug_logs(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_the_key_appears_in_no_log_line_and_no_exception(artu, artu_items, debug_logs, settings):
    key, wrong_key = settings.ARTU_API_KEY, "sk_live_a_wrong_but_secret_value"
    items = artu_items(2)
    errors: list[ArtuError] = []

    with ArtuClient() as client:
        client.create_clients(items)
        client.find_by_metadata(settings.ARTU_RECORD_METADATA_KEY, items[0]["metadata"]["onboardingRecordId"])
        artu.set_faults(next=[{"fault": "commit_then_drop"}])
        with pytest.raises(ArtuAmbiguous) as ambiguous:
            client.create_clients(artu_items(1))
        errors.append(ambiguous.value)
        shown = [str(client), repr(client), repr(vars(client))]
    with ArtuClient(api_key=wrong_key) as client, pytest.raises(ArtuAuthError) as refused:
        client.create_clients(items)
    errors.append(refused.value)
    with ArtuClient(base_url="http://127.0.0.1:9", api_key=wrong_key) as client, pytest.raises(ArtuUnavailable) as gone:
        client.find_by_metadata("k", "v")
    errors.append(gone.value)

    assert any(r.name.startswith("httpcore") for r in debug_logs.records), "httpcore debug logs were not captured"
    assert "onboarding.artu.client" in {r.name for r in debug_logs.records}
    output = "\n".join([debug_logs.text, *shown, *(rendered(e) for e in errors)])
    assert key not in output
    assert wrong_key not in output
