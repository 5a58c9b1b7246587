"""The small domain error hierarchy services raise besides ValidationError and PermissionDenied."""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    default_message = _("The action could not be done.")

    def __init__(self, message=None, **params):
        self.message = message or self.default_message
        self.params = params
        super().__init__(str(self.message))


class InvalidTransition(DomainError):
    default_message = _("The record is not in a state that allows this action.")


class StaleRecord(DomainError):
    """Someone saved the record after this user opened it; `params["changes"]` says what changed."""

    default_message = _("Someone else changed this record after you opened it. Review their changes and try again.")
