from django.core.management.base import BaseCommand, CommandError

from accounts.models import ServiceToken
from accounts.service_tokens import service_token_create


class Command(BaseCommand):
    help = "Create a service token for the telephony platform and print it (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        if ServiceToken.objects.filter(name=name).exists():
            raise CommandError(f"A service token named {name!r} exists already.")
        _, key = service_token_create(name=name)
        self.stdout.write(key)
