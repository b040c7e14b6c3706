"""birge indicators load [FILE] | refresh [--period P …] | list | compute CODE [--period P] [--by a,b] | snapshot CODE …"""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from birge.monitoring import catalogue, disclosure, engine, periods, present, scope as scopes, services, summary
from birge.monitoring.models import Indicator


class Command(BaseCommand):
    help = "The indicator catalogue: load it from its file, rebuild the summaries, compute or freeze an indicator."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="Load or update the catalogue from a JSON file (default: the shipped catalogue).")
        load.add_argument("file", nargs="?")
        refresh = sub.add_parser("refresh", help="Rebuild the learner summary for periods (default: the recent school years).")
        refresh.add_argument("--period", action="append", default=[])
        refresh.add_argument("--if-stale", action="store_true", help="Only periods whose summary is missing or stale.")
        sub.add_parser("list", help="List the catalogue and whether each indicator's records exist.")
        compute = sub.add_parser("compute", help="Compute one indicator (published figures) and print JSON.")
        compute.add_argument("code")
        compute.add_argument("--period", default="")
        compute.add_argument("--by", default="")
        compute.add_argument("--internal", action="store_true", help="Unsuppressed figures (national).")
        snap = sub.add_parser("snapshot", help="Freeze an indicator run for a reporting date.")
        snap.add_argument("code")
        snap.add_argument("--period", default="")
        snap.add_argument("--by", default="")
        snap.add_argument("--note", default="")

    def handle(self, *args, action, **opts):
        return getattr(self, f"do_{action}")(**opts)

    def _period(self, code):
        try:
            return periods.parse(code)
        except periods.PeriodError as exc:
            raise CommandError(str(exc)) from None

    def _indicator(self, code):
        ind = Indicator.objects.filter(code=code, is_active=True).first()
        if ind is None:
            raise CommandError(f"No indicator {code}")
        return ind

    def _by(self, ind, by):
        try:
            return engine.validate_by(ind, [b for b in by.split(",") if b])
        except engine.ByError as exc:
            raise CommandError(str(exc)) from None

    def do_load(self, file=None, **opts):
        try:
            counts = catalogue.load(file)
        except catalogue.CatalogueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Catalogue {counts['version']}: {counts['created']} created, {counts['updated']} updated, "
                          f"{counts['retired']} retired.")

    def do_refresh(self, period=(), if_stale=False, **opts):
        todo = [self._period(p) for p in period] or periods.recent_school_years()
        current = summary.fingerprint()
        for p in todo:
            if if_stale and summary.state(p, current).fresh:
                self.stdout.write(f"{p.code}: current, skipped")
                continue
            build = summary.refresh(p)
            self.stdout.write(f"{p.code}: {build.learners} learners in {build.rows} summary rows, {build.seconds:.1f} s")

    def do_list(self, **opts):
        for ind in Indicator.objects.filter(is_active=True):
            missing = engine.plan_for(ind).unwired()
            state = engine.unavailable_message(missing) if missing else "ok"
            self.stdout.write(f"{ind.code:8} {ind.kind:13} {ind.name_en} — {state}")

    def do_compute(self, code, period="", by="", internal=False, **opts):
        ind = self._indicator(code)
        res = engine.compute(ind, self._period(period), self._by(ind, by), scopes.national())
        table = disclosure.protect(res, published=not internal)
        self.stdout.write(json.dumps({"status": res.status, "message": res.message, "source": res.source,
                                      "rows": present.rows_for_api(table)}, ensure_ascii=False, indent=1, default=str))

    def do_snapshot(self, code, period="", by="", note="", **opts):
        ind = self._indicator(code)
        try:
            snap = services.freeze(None, ind, self._period(period), self._by(ind, by), scopes.national(), note=note)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"Snapshot {snap.pk}: {ind.code} {snap.period} ({snap.classifier_version})")
