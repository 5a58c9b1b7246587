"""Production settings: `check --deploy` is silent once HTTPS is on, and refuses a set-up aimed at the sandbox."""

import json
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from onboarding.checks import check_artu_settings
from tests.deploy import BASE_DIR, PYTHON, production_env


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=BASE_DIR, env=production_env(**env), capture_output=True, text=True
    )


def settings_of(*names: str, **env: str) -> dict:
    code = "import json; from django.conf import settings as s; "
    code += f"print(json.dumps({{n: getattr(s, n) for n in {names}}}))"
    result = manage("shell", "--no-imports", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_reports_nothing_with_https_on():
    result = manage("check", "--deploy", "--fail-level", "WARNING", HTTPS="true", BEHIND_PROXY="true")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_https_check_deploy_still_warns_about_cookies_and_redirects():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 1
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def test_https_turns_on_hsts_redirect_and_secure_cookies_and_each_is_configurable():
    on = settings_of(
        "SECURE_HSTS_SECONDS",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
        HTTPS="true",
        BEHIND_PROXY="true",
    )
    assert on == {
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }
    tuned = settings_of("SECURE_HSTS_SECONDS", "SECURE_PROXY_SSL_HEADER", HTTPS="true", HSTS_SECONDS="3600")
    assert tuned == {"SECURE_HSTS_SECONDS": 3600, "SECURE_PROXY_SSL_HEADER": None}


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.ARTU_API_URL = "https://api.artu.example"
    settings.ARTU_API_KEY = "sk_live_0123456789abcdef"
    settings.ARTU_SANDBOX_TOKEN = "sk_test_sandbox"
    return settings


def deploy_errors() -> list[str]:
    return sorted(error.id for error in check_artu_settings(None))


def test_a_production_set_up_passes_the_project_checks(production):
    assert deploy_errors() == []


@pytest.mark.django_db
def test_production_refuses_the_built_in_sandbox_key(production):
    production.ARTU_API_KEY = "sk_test_sandbox"
    assert deploy_errors() == ["onboarding.E001"]
    with pytest.raises(SystemCheckError, match="onboarding.E001"):
        call_command("check", deploy=True, fail_level="ERROR")


def test_production_refuses_a_key_equal_to_the_sandbox_token(production):
    production.ARTU_SANDBOX_TOKEN = production.ARTU_API_KEY = "sk_test_my_own_sandbox"
    assert deploy_errors() == ["onboarding.E003"]


@pytest.mark.parametrize("url", ["http://api.artu.ai", "http://127.0.0.1:8001", "HTTP://api.artu.ai", "api.artu.ai"])
def test_production_refuses_artu_over_plain_http(production, url):
    production.ARTU_API_URL = url
    assert deploy_errors() == ["onboarding.E002"]


def test_with_debug_on_the_sandbox_set_up_is_fine(settings):
    settings.DEBUG = True
    settings.ARTU_API_URL = "http://127.0.0.1:8001"
    settings.ARTU_API_KEY = settings.ARTU_SANDBOX_TOKEN = "sk_test_sandbox"
    assert deploy_errors() == []


def test_the_checks_are_errors_so_check_deploy_fails_at_error_level():
    result = manage("check", "--deploy", "--fail-level", "ERROR", ARTU_API_KEY="sk_test_sandbox")
    assert result.returncode == 1
    assert "onboarding.E001" in result.stderr
