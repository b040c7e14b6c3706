"""birge demo --scale small|district|region|national --seed N [--reuse]"""

import time
from importlib import import_module
import random

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from birge.core.demo import SCALES, DemoContext
from birge.core.models import User
from birge.core.roles import Role


class Command(BaseCommand):
    help = "Generate deterministic synthetic demo data and print one demo login per role."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=list(SCALES), default="small")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--reuse", action="store_true", help="If demo data exists already, keep it and only print the logins.")

    def handle(self, *args, scale, seed, reuse, **options):
        if settings.PRODUCTION:
            raise CommandError("The demo refuses to run under production settings (BIRGE_ENV=production).")
        if reuse and User.objects.filter(username="demo-system-admin").exists():
            self.stdout.write("Demo data exists; reusing it.")
        else:
            start = time.perf_counter()
            ctx = DemoContext(scale=SCALES[scale], seed=seed, rng=random.Random(seed), progress=self._progress)
            for config in apps.get_app_configs():
                if not config.name.startswith("birge."):
                    continue
                try:
                    module = import_module(f"{config.name}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{config.name}.demo":
                        raise
                    continue
                if hasattr(module, "generate"):
                    with transaction.atomic():
                        module.generate(ctx)
            self.stdout.write(f"Demo generated at scale '{scale}' (seed {seed}) in {time.perf_counter() - start:.1f} s.")
        self._print_logins()

    def _progress(self, message):
        self.stdout.write(f"  · {message}")
        self.stdout.flush()

    def _print_logins(self):
        self.stdout.write("\nDemo logins (password for all: %s):" % settings.BIRGE_DEMO_PASSWORD)
        width = max(len(f"demo-{r.value}") for r in Role)
        for role in Role:
            self.stdout.write(f"  {'demo-' + role.value:<{width}}  {role.label}")
