"""``birge outreach find [--territory SOATE] [--as USERNAME]``: open outreach cases for out-of-school children.

Without ``--as`` the run is the system's (every child in the country, or in ``--territory``), as a
scheduled job after the nightly register imports would run it; with ``--as`` it is that person's,
within their reach, exactly as the page "Find out-of-school children" does.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from birge.core.models import Territory, User
from birge.exchange import services


class Command(BaseCommand):
    help = "Open outreach cases for children with a disability or a concern who are enrolled nowhere."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        find = sub.add_parser("find", help="find out-of-school children and open their cases")
        find.add_argument("--territory", help="SOATE code of a region, district or municipality")
        find.add_argument("--as", dest="username", help="act as this user (within their reach)")

    def handle(self, *args, **options):
        territory = None
        if options.get("territory"):
            territory = Territory.objects.current().filter(code=options["territory"]).first()
            if territory is None:
                raise CommandError(f"No current territory has the code {options['territory']}.", returncode=2)
        actor = None
        if options.get("username"):
            actor = User.objects.filter(username=options["username"], is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user {options['username']}.", returncode=2)
        try:
            result = services.find_out_of_school(actor, territory=territory)
        except PermissionDenied:
            raise CommandError("This user's roles do not allow opening outreach cases.", returncode=2) from None
        self.stdout.write(f"{len(result.opened)} outreach case(s) opened.")
        for learner_id, message in result.skipped:
            self.stderr.write(f"learner {learner_id}: {message}")
