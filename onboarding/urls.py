from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from onboarding.views import audit, duplicates, health, home, records, submissions
from onboarding.views import review as review_views
from onboarding.views import uploads as upload_views

records_patterns = (
    [
        path("", records.record_index, name="list"),
        path("new/", records.record_new, name="create"),
        path("<int:pk>/", records.record_detail, name="detail"),
        path("<int:pk>/edit/", records.record_edit, name="edit"),
        path("<int:pk>/send-to-review/", records.record_send_to_review, name="send-to-review"),
    ],
    "records",
)

urlpatterns = [
    path("", home.home, name="home"),
    path("records/", include(records_patterns)),
    path("uploads/", include(upload_views.patterns)),
    path("review/", include(review_views.patterns)),
    path("review/duplicates/", include(duplicates.patterns)),
    path("submissions/", include(submissions.patterns)),
    path("audit/", include(audit.patterns)),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
]
