"""How screenings plug into the one access policy (core/access.py).

A screening is a record about one learner (``learner_path="learner"``) of type
``Rec.SCREENING``: who reaches the learner reaches their screenings, as far as the role's
column in ``access.MATRIX`` allows. Functioning results are health-like data, so the column is
narrow: territory officers (district, region) and the ministry see none (they get aggregates
from ``monitoring``), parents read their own child's, PMPK, school staff, assigned specialists
and health workers record them. Every screening shown writes a read event (``sensitive``).
"""

from birge.core import access
from birge.core.access import Rec

from .models import Screening

access.register(Screening, Rec.SCREENING, learner_path="learner", sensitive=True)
