"""Settings of a worker process that a test starts and then takes the database from: the project's, with SQLite's
busy timeout short, so that a lock the test holds for a few seconds outlasts it (in production it is 20 s)."""

from onboarding.settings import *  # noqa: F403
from onboarding.settings import DATABASES

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"]["timeout"] = 0.5
