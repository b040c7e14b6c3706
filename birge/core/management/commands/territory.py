"""birge territory load | import FILE [--valid-only] [--version CODE]"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from birge.core import territory
from birge.core.tabular import ImportFileError, read_path


class Command(BaseCommand):
    help = "Load the shipped SOATE top levels, or import municipalities (aiyl aimaks, towns) from an official CSV/XLSX file."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["load", "import"])
        parser.add_argument("file", nargs="?")
        parser.add_argument("--valid-only", action="store_true", help="Write the valid rows and report the rest.")
        parser.add_argument("--classifier", default=territory.REFERENCE_VERSION["code"], help="Classifier version code.")

    def handle(self, *args, action, file, valid_only, classifier, **options):
        if action == "load":
            cv = territory.load_reference()
            self.stdout.write(f"Loaded {cv}.")
            return
        if not file:
            raise CommandError("Give the file to import.")
        try:
            name, data = read_path(file)
            report = territory.import_file(name, data, version_code=classifier, valid_only=valid_only)
        except (ImportFileError, ValidationError) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc
        for e in report.errors:
            self.stderr.write(f"line {e.line}: {e.field}: {e.message}")
        if not report.committed:
            raise CommandError(f"{len(report.bad_lines)} of {report.total} rows are invalid; nothing was imported.")
        self.stdout.write(f"Imported {report.written} of {report.total} rows ({report.encoding}).")
