"""birge learners import FILE [--valid-only] --as USERNAME"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from birge.core.models import User
from birge.core.tabular import ImportFileError, read_path
from birge.learners import rosters


class Command(BaseCommand):
    help = ("Import a roster of learners and enrolments from a CSV/XLSX file as a user, under that user's access "
            "(columns: pin, last_name, first_name, patronymic, birth_date, sex, territory, organization, level, grade, "
            "class_name, form, programme, starts_on).")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["import"])
        parser.add_argument("file")
        parser.add_argument("--as", dest="username", required=True, help="The user on whose behalf the rows are written.")
        parser.add_argument("--valid-only", action="store_true", help="Write the valid rows and report the rest.")

    def handle(self, *args, action, file, username, valid_only, **options):
        actor = User.objects.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user {username!r}.")
        try:
            name, data = read_path(file)
            report, stats = rosters.import_roster(actor, name, data, valid_only=valid_only)
        except (ImportFileError, ValidationError) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc
        for e in report.errors:
            self.stderr.write(f"line {e.line}: {e.field}: {e.message}")
        if not report.committed:
            raise CommandError(f"{len(report.bad_lines)} of {report.total} rows are invalid; nothing was imported.")
        self.stdout.write(f"Imported {report.written} of {report.total} rows ({report.encoding}): {stats.created} new learners, "
                          f"{stats.matched} found, {stats.enrolled} enrolments opened, {stats.unchanged} already enrolled.")
