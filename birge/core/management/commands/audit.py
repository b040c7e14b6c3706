"""birge audit verify — walk the hash chain of the audit trail."""

from django.core.management.base import BaseCommand, CommandError

from birge.core import audit


class Command(BaseCommand):
    help = "Audit trail operations: 'verify' checks that no event was altered, removed or inserted."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args, action, **options):
        ok, checked, broken = audit.verify()
        if not ok:
            where = f" at event {broken}" if broken else " at the chain head"
            raise CommandError(f"Audit chain BROKEN{where} after {checked} intact events.")
        self.stdout.write(f"Audit chain intact: {checked} events.")
