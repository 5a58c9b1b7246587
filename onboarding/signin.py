"""Sign-in throttling with django-axes: two limits, and each lockout in the audit trail with the attempt that
caused it.

An account is locked after LOGIN_FAILURE_LIMIT failures *from one address* (the pair user name + address), and an
address after LOGIN_ADDRESS_FAILURE_LIMIT failures whatever the user names. Neither lets one attacker lock out
everyone: locking by user name alone would let anyone who knows the names (capturista, oficial...) keep every
account locked from anywhere, and locking by address alone at the low limit would lock a whole office behind one
NAT after a few typos. See README, "Sign-in throttling".
"""

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.http import HttpRequest


class SignInThrottle(AxesDatabaseHandler):
    """Axes' database handler with a higher limit for an address than for a user name from an address."""

    def user_login_failed(self, sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
        # One transaction: the failure counted and, when it reaches a limit, the lockout's audit event (written by
        # signals.audit_lockout on axes' user_locked_out): no lockout without its event, nor an event without it.
        with transaction.atomic():
            super().user_login_failed(sender, credentials, request, **kwargs)

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """The pair's recent failures, or LOGIN_FAILURE_LIMIT once the address has reached its own limit (axes
        compares this one number with AXES_FAILURE_LIMIT). AXES_LOCKOUT_PARAMETERS lists the pair, then the address."""
        pair, address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if address >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            return max(pair, settings.LOGIN_FAILURE_LIMIT)
        return pair
