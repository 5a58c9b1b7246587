"""English: the same DD/MM/YYYY order as Spanish (never the US month first), 24-hour time."""

from onboarding.formats.es_MX.formats import (  # noqa: F401 - Django reads these names from this module
    DATE_FORMAT,
    DATE_INPUT_FORMATS,
    DATETIME_FORMAT,
    DATETIME_INPUT_FORMATS,
    SHORT_DATE_FORMAT,
    SHORT_DATETIME_FORMAT,
    TIME_FORMAT,
)

FIRST_DAY_OF_WEEK = 1
