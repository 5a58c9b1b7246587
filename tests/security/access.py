"""Who may use each URL of the project, by method: the table the security tests check every URL against.

It follows README's "Roles". "Allowed" means a 2xx or 3xx answer that is not a redirect to a sign-in page, or 422
(the form said what is wrong). "Refused" means: anonymous is sent to sign in; a signed-in user without the
permission gets 403, except in the Django admin, which sends a user who is not staff to its own sign-in page.
A method the view does not accept answers 405.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from onboarding.models import ClientRecord
from tests.security.world import ANONYMOUS, ROLES, World

EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {ANONYMOUS}
READERS = frozenset({"capturista", "oficial", "oficial_live", "auditor", "admin"})  # every role: read
MAKERS = frozenset({"capturista", "oficial", "oficial_live", "admin"})  # data entry and up: stage and edit
OFFICERS = frozenset({"oficial", "oficial_live", "admin"})  # review, submit
SUBMISSION_READERS = OFFICERS | {"auditor"}
AUDIT = frozenset({"auditor", "admin"})
ADMIN = frozenset({"admin"})
NOBODY = frozenset()

HTMX = {"HX-Request": "true"}


@dataclass(frozen=True)
class Rule:
    """Who may use one URL. `get`/`post`: the roles allowed; None when the view does not accept that method."""

    get: frozenset[str] | None
    post: frozenset[str] | None
    kwargs: Callable[[World], dict[str, Any]] = lambda w: {}
    query: str = ""
    headers: dict[str, str] | None = None
    allowed_as: str = "allowed"  # the outcome of a request the table allows, when it is not a plain "allowed"
    refused_as: str = "sign in"  # the outcome of a refused request in the admin (the admin's own rules)

    def roles(self, method: str) -> frozenset[str] | None:
        return self.get if method == "GET" else self.post


def _record(w: World) -> dict:
    return {"pk": w.record.pk}


def _upload(w: World) -> dict:
    return {"pk": w.upload.pk}


def _pair(w: World) -> dict:
    """The world's record and another (one of its upload's): any two records may be compared."""
    other = ClientRecord.objects.exclude(pk=w.record.pk).order_by("pk").values_list("pk", flat=True).first()
    return {"left": w.record.pk, "right": other}


def _submission(w: World) -> dict:
    return {"pk": w.submission.pk}


def _admin_object(pk: Callable[[World], Any]) -> Callable[[World], dict]:
    return lambda w: {"object_id": str(pk(w))}


def _admin_model(
    app: str, model: str, pk: Callable[[World], Any], *, add: bool, change: bool, delete: bool
) -> dict[str, Rule]:
    """The six URLs the admin makes for a registered model. What its ModelAdmin forbids (add, change, delete) it
    refuses even to a superuser (403); a change page it may not change is a page to look at."""
    obj = _admin_object(pk)
    allowed = {True: ADMIN, False: NOBODY}
    return {
        f"admin:{app}_{model}_changelist": Rule(get=ADMIN, post=ADMIN),
        f"admin:{app}_{model}_add": Rule(get=allowed[add], post=allowed[add]),
        f"admin:{app}_{model}_history": Rule(get=ADMIN, post=ADMIN, kwargs=obj),
        f"admin:{app}_{model}_delete": Rule(get=allowed[delete], post=allowed[delete], kwargs=obj),
        f"admin:{app}_{model}_change": Rule(get=ADMIN, post=allowed[change], kwargs=obj),
        f"admin/{app}/{model}/<path:object_id>/": Rule(get=ADMIN, post=ADMIN, kwargs=obj),  # redirect to change
    }


EDITABLE = {"add": True, "change": True, "delete": True}
READ_ONLY = {"add": False, "change": False, "delete": False}

ACCESS: dict[str, Rule] = {
    "home": Rule(get=SIGNED_IN, post=None),
    # Records: everyone with a role reads; data entry and officers create and edit.
    "records:list": Rule(get=READERS, post=None),
    "records:create": Rule(get=MAKERS, post=MAKERS),
    "records:detail": Rule(get=READERS, post=None, kwargs=_record),
    "records:edit": Rule(get=MAKERS, post=MAKERS, kwargs=_record),
    "records:send-to-review": Rule(get=None, post=MAKERS, kwargs=_record),
    # Uploads: everyone with a role reads; data entry and officers upload and map.
    "uploads:list": Rule(get=READERS, post=MAKERS),
    "uploads:detail": Rule(get=READERS, post=None, kwargs=_upload),
    "uploads:mapping": Rule(get=MAKERS, post=MAKERS, kwargs=lambda w: {"pk": w.upload_unmapped.pk}),
    "uploads:progress": Rule(get=READERS, post=None, kwargs=_upload, headers=HTMX),
    "uploads:problems": Rule(get=READERS, post=None, kwargs=_upload),
    "uploads:retry": Rule(get=None, post=MAKERS, kwargs=_upload),
    # Discarding a pending upload: its uploader (data entry here) or an officer; not auditors.
    "uploads:discard": Rule(get=MAKERS, post=MAKERS, kwargs=lambda w: {"pk": w.upload_unmapped.pk}),
    # Saved column mappings: whoever uploads reads their own and the shared ones; only the owner shares or deletes.
    "uploads:mappings": Rule(get=MAKERS, post=None),
    "uploads:mapping-share": Rule(
        get=None, post=frozenset({"capturista"}), kwargs=lambda w: {"pk": w.saved_mapping.pk}
    ),
    "uploads:mapping-delete": Rule(
        get=None, post=frozenset({"capturista"}), kwargs=lambda w: {"pk": w.saved_mapping.pk}
    ),
    # Review: everyone with a role reads the queue; editing a cell is editing; decisions are the officers'.
    "review:queue": Rule(get=READERS, post=None),
    "review:columns": Rule(get=None, post=READERS),
    "review:bulk": Rule(get=None, post=OFFICERS),
    "review:row": Rule(get=READERS, post=None, kwargs=_record, headers=HTMX),
    "review:panel": Rule(get=READERS, post=None, kwargs=_record, headers=HTMX),  # the record page's rules
    "review:cell": Rule(get=MAKERS, post=MAKERS, kwargs=lambda w: {"pk": w.record.pk, "field": "name"}, headers=HTMX),
    "review:action": Rule(get=OFFICERS, post=OFFICERS, kwargs=lambda w: {"pk": w.record.pk, "action": "approve"}),
    # Two possible duplicates side by side: everyone with a role compares; officers settle.
    "duplicates:compare": Rule(get=READERS, post=None, kwargs=_pair),
    "duplicates:keep": Rule(get=None, post=OFFICERS, kwargs=lambda w: {**_pair(w), "kept": w.record.pk}),
    "duplicates:not-duplicate": Rule(get=None, post=OFFICERS, kwargs=_pair),
    # Submissions: officers start and resume them; auditors read them too.
    "submissions:list": Rule(get=SUBMISSION_READERS, post=None),
    "submissions:create": Rule(get=OFFICERS, post=OFFICERS),
    "submissions:preview": Rule(get=OFFICERS, post=None, query="what=all&environment=test", headers=HTMX),
    "submissions:detail": Rule(get=SUBMISSION_READERS, post=None, kwargs=_submission),
    "submissions:progress": Rule(get=SUBMISSION_READERS, post=None, kwargs=_submission, headers=HTMX),
    "submissions:resume": Rule(get=None, post=OFFICERS, kwargs=_submission),
    "submissions:again": Rule(get=None, post=OFFICERS, kwargs=_submission),
    "submissions:from-queue": Rule(get=None, post=OFFICERS),
    "submissions:results": Rule(get=SUBMISSION_READERS, post=None, kwargs=_submission),
    # The audit trail: auditors (and the administrator).
    "audit:log": Rule(get=AUDIT, post=None),
    "audit:export": Rule(get=AUDIT, post=None),
    "audit:verify": Rule(get=None, post=AUDIT),
    "audit:event": Rule(get=AUDIT, post=None, kwargs=lambda w: {"seq": w.event.seq}),
    # Signing in and out, and the language: the only pages open to anonymous (signing out needs a session).
    "login": Rule(get=EVERYONE, post=EVERYONE),
    "logout": Rule(get=None, post=SIGNED_IN, allowed_as="sign in"),  # signed out, sent to sign in again
    "set_language": Rule(get=EVERYONE, post=EVERYONE),
    # For load balancers and monitoring: no personal data, no sign-in.
    "healthz": Rule(get=EVERYONE, post=None),
    # The Django admin: the administrator only.
    "admin:index": Rule(get=ADMIN, post=ADMIN),
    "admin:login": Rule(get=EVERYONE, post=EVERYONE),
    # Whoever is not staff is sent back to the admin's index (and from there to its sign-in page).
    "admin:logout": Rule(get=None, post=ADMIN, allowed_as="sign in", refused_as="admin index"),
    "admin:password_change": Rule(get=ADMIN, post=ADMIN),
    "admin:password_change_done": Rule(get=ADMIN, post=None),
    # No admin form has an autocomplete field: the view refuses every request (PermissionDenied, 403).
    "admin:autocomplete": Rule(get=NOBODY, post=None),
    "admin:jsi18n": Rule(get=ADMIN, post=None),
    # No model shown in the admin has a page of its own on the site: "view on site" finds nothing (404).
    "admin:view_on_site": Rule(
        get=ADMIN,
        post=ADMIN,
        kwargs=lambda w: {"content_type_id": w.record_content_type, "object_id": w.record.pk},
        allowed_as="status 404",
    ),
    "admin:app_list": Rule(get=ADMIN, post=ADMIN, kwargs=lambda w: {"app_label": "onboarding"}),
    # The admin's catch-all: a known admin page without its slash is redirected to it.
    "admin/(?P<url>.*)$": Rule(get=ADMIN, post=ADMIN, kwargs=lambda w: {"url": "auth/user"}),
    "admin:auth_user_password_change": Rule(get=ADMIN, post=ADMIN, kwargs=lambda w: {"id": w.users["capturista"].pk}),
    **_admin_model("auth", "user", lambda w: w.users["capturista"].pk, **EDITABLE),
    **_admin_model("auth", "group", lambda w: w.users["capturista"].groups.get().pk, **EDITABLE),
    # Read-only: the audit trail, client records (they change through the app's services) and background tasks.
    **_admin_model("onboarding", "auditevent", lambda w: w.event.pk, **READ_ONLY),
    **_admin_model("onboarding", "auditverification", lambda w: w.verification.pk, **READ_ONLY),
    **_admin_model("onboarding", "clientrecord", lambda w: w.record.pk, **READ_ONLY),
    **_admin_model("django_tasks_database", "dbtaskresult", lambda w: w.task_id, **READ_ONLY),
    # Sign-in throttling (django-axes): the administrator reads failures and lifts a lockout by deleting it.
    **_admin_model("axes", "accessattempt", lambda w: w.sign_in_attempt, add=False, change=True, delete=True),
    **_admin_model("axes", "accessfailurelog", lambda w: w.sign_in_failure, add=False, change=True, delete=True),
    **_admin_model("axes", "accesslog", lambda w: w.sign_in_log, add=False, change=True, delete=True),
}


def url_patterns(resolver=None, prefix: str = "", namespace: str = "") -> dict[str, URLPattern]:
    """Every URL pattern the project serves, by "namespace:name" (by its whole route when it has no name)."""
    found = {}
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, (namespace, entry.namespace)))
            found |= url_patterns(entry, prefix + str(entry.pattern), inner)
        elif entry.name:
            found[":".join(filter(None, (namespace, entry.name)))] = entry
        else:
            found[prefix + str(entry.pattern)] = entry
    return found


def url_for(key: str, rule: Rule, world: World) -> str:
    kwargs = rule.kwargs(world)
    if "/" not in key:
        url = reverse(key, kwargs=kwargs)
    elif "(?P<url>" in key:  # the admin's catch-all
        url = f"/admin/{kwargs['url']}"
    else:  # an unnamed admin pattern: its route with the object's id put in
        url = "/" + key.replace("<path:object_id>", kwargs["object_id"])
    return f"{url}?{rule.query}" if rule.query else url


def expected_outcome(key: str, rule: Rule, method: str, role: str) -> str:
    allowed = rule.roles(method)
    public = ANONYMOUS in (rule.get or NOBODY) | (rule.post or NOBODY)
    if role == ANONYMOUS and not public:
        return "sign in"
    if key.startswith("admin") and role not in ("admin", ANONYMOUS) and not public:
        return rule.refused_as  # the admin turns away whoever is not staff before it looks at the method
    if allowed is None:
        return "method not allowed"
    if role in allowed:
        return rule.allowed_as
    return "forbidden"


def outcome(response) -> str:
    status = response.status_code
    location = urlsplit(response.get("Location", "")).path
    if status in (301, 302) and location in (reverse("login"), reverse("admin:login")):
        return "sign in"
    if status in (301, 302) and location == reverse("admin:index"):
        return "admin index"
    if status == 403:
        return "forbidden"
    if status == 405:
        return "method not allowed"
    if 200 <= status < 400 or status == 422:
        return "allowed"
    return f"status {status}"


def judge(key: str, method: str, role: str, response) -> tuple[str, str]:
    """(what the table expects, what the response was) for one request, in the same words."""
    expected, got = expected_outcome(key, ACCESS[key], method, role), outcome(response)
    if expected == "allowed" and got == "admin index":
        got = "allowed"  # a redirect to the admin's index is a redirect like any other for whoever may go there
    return expected, got
