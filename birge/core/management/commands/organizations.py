"""birge organizations import FILE [--valid-only]"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from birge.core import orgimport
from birge.core.tabular import ImportFileError, read_path


class Command(BaseCommand):
    help = "Import organizations from a CSV/XLSX file (columns: code, kind, name, name_ru, territory, address, phone, email, languages)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["import"])
        parser.add_argument("file")
        parser.add_argument("--valid-only", action="store_true", help="Write the valid rows and report the rest.")

    def handle(self, *args, action, file, valid_only, **options):
        try:
            name, data = read_path(file)
            report = orgimport.import_file(name, data, valid_only=valid_only)
        except (ImportFileError, ValidationError) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc
        for e in report.errors:
            self.stderr.write(f"line {e.line}: {e.field}: {e.message}")
        if not report.committed:
            raise CommandError(f"{len(report.bad_lines)} of {report.total} rows are invalid; nothing was imported.")
        self.stdout.write(f"Imported {report.written} of {report.total} rows ({report.encoding}).")
