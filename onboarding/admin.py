"""Django admin: users and groups as Django ships them (changes attributed in the audit trail), and read-only
views of the audit trail and of client records. Nothing here edits or deletes an event or a record."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest

from onboarding.models import AuditEvent, AuditVerification, ClientRecord
from onboarding.signals import acting_as

User = get_user_model()


class ActorAttributedMixin:
    """Runs each admin view that can change users, groups or permissions under `acting_as(request.user)`,
    so the audit events written by onboarding.signals name the administrator."""

    def changeform_view(self, request, *args, **kwargs):
        with acting_as(request.user):
            return super().changeform_view(request, *args, **kwargs)

    def changelist_view(self, request, *args, **kwargs):  # bulk actions such as "delete selected"
        with acting_as(request.user):
            return super().changelist_view(request, *args, **kwargs)

    def delete_view(self, request, *args, **kwargs):
        with acting_as(request.user):
            return super().delete_view(request, *args, **kwargs)


class AuditedUserAdmin(ActorAttributedMixin, UserAdmin):
    def user_change_password(self, request, *args, **kwargs):
        with acting_as(request.user):
            return super().user_change_password(request, *args, **kwargs)


class AuditedGroupAdmin(ActorAttributedMixin, GroupAdmin):
    pass


admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, AuditedGroupAdmin)


class ReadOnlyAdmin(admin.ModelAdmin):
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The trail is append-only: the admin may look, never add, change or delete (a PG trigger backs this)."""

    list_display = ("seq", "created_at", "actor_username", "actor_role", "action", "target_type", "target_id")
    list_filter = ("action",)
    search_fields = ("=actor_username", "=target_id", "=request_id")
    ordering = ("-seq",)
    show_full_result_count = False


@admin.register(AuditVerification)
class AuditVerificationAdmin(ReadOnlyAdmin):
    list_display = ("ran_at", "ok", "events_checked", "first_bad_seq", "detail")
    ordering = ("-ran_at",)


@admin.register(ClientRecord)
class ClientRecordAdmin(ReadOnlyAdmin):
    """For looking only: records change through the app's services, which audit every change, and are never
    deleted (LFPIORPI keeps client identification ten years; submitted ones also live at Artu)."""

    list_display = ("display_name", "status", "rfc", "curp", "external_id", "created_at")
    list_filter = ("status", "client_type")
    search_fields = ("=rfc", "=curp", "=external_id")
    ordering = ("-created_at", "-id")
    show_full_result_count = False
