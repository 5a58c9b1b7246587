from django.core.management.base import BaseCommand

from onboarding.services.roles import demo_accounts_create


class Command(BaseCommand):
    help = "Create the demo accounts once and print their passwords (only when they are created)."

    def handle(self, *args, **options):
        created = demo_accounts_create()
        if not created:
            self.stdout.write("Demo accounts already exist (their passwords were printed when they were created;")
            self.stdout.write("reset one with: .venv/bin/python manage.py changepassword USERNAME).")
            return
        self.stdout.write(self.style.WARNING("Demo accounts (shown only this once):"))
        width = max(len(u) for u, _, _ in created)
        for username, password, roles in created:
            self.stdout.write(f"  {username.ljust(width)}  {password}  ({roles})")
