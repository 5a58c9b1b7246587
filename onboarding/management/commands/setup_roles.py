from django.core.management.base import BaseCommand

from onboarding.services.roles import roles_setup


class Command(BaseCommand):
    help = "Create or update the role groups (Data entry, Compliance officer, Auditor, Submit to live)."

    def handle(self, *args, **options):
        for role, count in roles_setup().items():
            self.stdout.write(f"role {role}: {count} permissions")
