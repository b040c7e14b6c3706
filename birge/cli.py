"""The ``birge`` console command: every operational task (wraps manage.py).

    birge migrate | birge demo --scale small | birge territory import FILE
    birge audit verify | birge link LEFT.csv RIGHT.csv --out PAIRS.csv | birge worker ...
"""

import os
import sys


def main(argv=None):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "birge.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    argv[0] = "birge"
    if len(argv) > 1 and argv[1] == "worker":  # the task worker of django-tasks-db
        argv[1] = "db_worker"
    execute_from_command_line(argv)
    return 0
