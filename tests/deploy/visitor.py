"""A person with a browser, over real HTTP: keeps cookies, reads a page's form as a browser would fill it in, and
posts it with the CSRF token. Used by the tests that run the app as separate processes, and by bench/bench_load.py.
"""

from html.parser import HTMLParser
from typing import Any

import httpx

CSRF_COOKIE = "csrftoken"


class _Forms(HTMLParser):
    """The fields of each <form> as the browser would send them unchanged: inputs (checked boxes only), the
    selected option of each select (or its first), textareas."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._form: dict[str, str] | None = None
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = self.forms.setdefault(a.get("id") or a.get("action") or str(len(self.forms)), {})
        elif self._form is None or not a.get("name") and tag != "option":
            return
        elif tag == "input":
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            if a.get("type") not in ("submit", "button", "file"):
                self._form[a["name"]] = a.get("value", "on" if a.get("type") == "checkbox" else "")
        elif tag == "select":
            self._select, self._first_option = a["name"], None
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first_option is None:
                self._first_option = value
                self._form.setdefault(self._select, value)
            if "selected" in a:
                self._form[self._select] = value
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form[a["name"]] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea and self._form is not None:
            self._form[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def page_forms(html: str) -> dict[str, dict[str, str]]:
    """Each form of the page, keyed by its id (else its action), with the values a browser would send."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class Visitor:
    """One person's browser on one web process."""

    def __init__(self, base_url: str, *, timeout: float = 60.0, cookies: httpx.Cookies | None = None) -> None:
        self.base_url = base_url
        # English pages, so that a test can read a message.
        headers = {"Accept-Language": "en"}
        self.http = httpx.Client(base_url=base_url, timeout=timeout, cookies=cookies, headers=headers)

    def on(self, base_url: str) -> "Visitor":
        """The same person, signed in, in another tab that a load balancer sent to another web process."""
        return Visitor(base_url, timeout=self.http.timeout.read or 60.0, cookies=httpx.Cookies(self.http.cookies))

    def sign_in(self, username: str, password: str) -> None:
        self.http.get("/accounts/login/").raise_for_status()  # sets the CSRF cookie
        response = self.post("/accounts/login/", {"username": username, "password": password, "next": "/"})
        if response.status_code != 302:
            raise AssertionError(f"signing in as {username} answered {response.status_code}")

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def form(self, path: str, form_id: str) -> dict[str, str]:
        """The form `form_id` of the page at `path`, as a browser would send it unchanged."""
        response = self.get(path)
        response.raise_for_status()
        return page_forms(response.text)[form_id]

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """A form post with the CSRF token, as the page's form (or htmx's header) sends it."""
        headers = {"X-CSRFToken": self.http.cookies.get(CSRF_COOKIE, ""), **kwargs.pop("headers", {})}
        return self.http.post(path, data=data or {}, headers=headers, **kwargs)

    def close(self) -> None:
        self.http.close()
