"""The verbs of exchange: import agency registers, link them to learners, review pairs, reach out.

Every function takes the acting user first, checks the access policy (``birge.core.access``),
runs in one transaction, validates, saves and writes an audit event (``birge.core.audit``).
Pages, the API and the commands call these; none of them writes the models directly. Bad input
is a ``ValidationError({field: message})``; an action the user may not take is
``PermissionDenied`` (callers fetch records with ``visible_to`` first, so a record out of reach is
a 404 before it gets here).

Imports (:func:`import_file`, :func:`import_rows`) go through ``birge.core.tabular.run_import``:
every row is checked and nothing is written while any row is unusable, unless ``valid_only``
(then the rejected rows are listed on the batch). A file whose content (SHA-256) was imported
before — and not withdrawn — is refused with the earlier batch named. One audit event records a
batch (its counts and provenance), not one per row.

Linkage (:func:`link_batch`) runs the engine of ``birge.exchange.linkage`` with the learner
register as LEFT and the batch as RIGHT (each row to at most one learner): exact on a valid PIN
agreeing with birth date and sex, probabilistic otherwise; pairs from
``BIRGE_LINKAGE["link_threshold"]`` link, pairs from ``review_threshold`` wait in the clerical
review queue (:func:`decide`, :func:`undo`). The batch's rows still without a learner are then
linked, by the same engine, to the rows without a learner of the other batches
(:class:`~.models.PersonLink`: the same child in another register); when one row of such a group
gets a learner — registered, accepted in review or linked by a later run — the others follow it
(:func:`_spread`).

Outreach (:func:`find_out_of_school`, :func:`open_case`, :func:`transition`) is in the second
half of this module.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import time
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _, gettext_lazy

from birge.core import access, audit, deadlines, names
from birge.core.access import Rec
from birge.core.deadline_models import Clock
from birge.core.models import AuditEvent, Organization, Territory
from birge.core.pin import is_valid_pin
from birge.core.roles import OrgKind, Role
from birge.core.tabular import ImportFileError, ImportReport, read_rows, run_import
from birge.learners.models import DisabilityStatus, Enrolment, Learner, Sex

from . import conf, registers
from .linkage import LinkConfig, link
from .linkage.records import prepare
from .models import (
    OPEN_OUTREACH_STATES, AgencyKind, Decision, ImportBatch, ImportedPerson, ImportSource, LearnerMerge, LegalBasis,
    LinkMethod, LinkState, MatchLink, OutreachCase, OutreachState, PersonLink, Purpose, SameChildRelation,
)

log = logging.getLogger(__name__)


# --- who acts --------------------------------------------------------------------------------------


def register_organizations(user) -> list[Organization]:
    """Organizations on whose behalf the user may import and link registers."""
    ids = [g.organization_id for g in access.grants(user)
           if g.organization_id and access.permission(g.role, Rec.REGISTER) == "w"]
    return list(Organization.objects.filter(pk__in=ids).order_by("name"))


def can_import(user) -> bool:
    return access.can(user, "write", Rec.REGISTER) and bool(register_organizations(user))


def _acting_organization(user, organization=None) -> Organization:
    orgs = register_organizations(user)
    if not orgs:
        raise PermissionDenied
    if organization is None:
        return orgs[0]
    if organization.pk not in {o.pk for o in orgs}:
        raise ValidationError({"organization": _("You do not hold a role at this organization that allows importing registers.")})
    return organization


def _require_write(user, obj) -> None:
    if not access.can_write(user, obj):
        raise PermissionDenied


# --- sources -----------------------------------------------------------------------------------------


@transaction.atomic
def save_source(actor, source: ImportSource | None = None, *, name: str, kind: str, description: str = "",
                column_mapping: dict | None = None, is_active: bool = True) -> ImportSource:
    """Create or change an agency source and the column mapping its files use."""
    if not access.can(actor, "write", Rec.REGISTER):
        raise PermissionDenied
    creating = source is None
    source = source or ImportSource()
    before = audit.snapshot(source) if not creating else None
    source.name = (name or "").strip()
    source.kind = kind
    source.description = (description or "").strip()
    source.column_mapping = registers.clean_mapping(column_mapping)
    source.is_active = bool(is_active)
    source.full_clean()
    source.save()
    if creating:
        audit.record_create(actor, source, event="import_source.created")
    else:
        audit.record_update(actor, source, before, event="import_source.updated")
    return source


# --- imports -----------------------------------------------------------------------------------------


class DuplicateFile(ValidationError):
    """The same content was imported before; ``existing`` is that batch when the user may see it."""

    def __init__(self, existing: ImportBatch | None, seen: ImportBatch):
        self.existing = existing
        if existing is not None:
            message = _("This file was imported already on %(date)s as batch %(id)s (%(file)s); it is not imported again.") % {
                "date": timezone.localtime(existing.uploaded_at).strftime("%Y-%m-%d"), "id": existing.pk,
                "file": existing.file_name}
        else:
            message = _("This file was imported already on %(date)s by another office; it is not imported again.") % {
                "date": timezone.localtime(seen.uploaded_at).strftime("%Y-%m-%d")}
        super().__init__({"file": [message]})


@dataclass
class ImportOutcome:
    report: ImportReport
    batch: ImportBatch | None = None
    warnings: list = field(default_factory=list)  # (line, field, message) of rows imported with problems

    @property
    def committed(self) -> bool:
        return self.batch is not None


def _check_provenance(legal_basis, legal_reference, purpose) -> dict:
    errors = {}
    if legal_basis not in LegalBasis.values:
        errors["legal_basis"] = _("Choose the legal basis of this exchange.")
    if not (legal_reference or "").strip():
        errors["legal_reference"] = _("Name the act, the agreement or where the consents are kept (number and date).")
    elif len(legal_reference.strip()) > 300:
        errors["legal_reference"] = _("Keep this under 300 characters.")
    if purpose not in Purpose.values:
        errors["purpose"] = _("Choose the purpose of this exchange.")
    return errors


def _duplicate_of(actor, sha: str):
    seen = ImportBatch.objects.filter(sha256=sha).exclude(status=ImportBatch.Status.WITHDRAWN).order_by("pk").first()
    if seen is None:
        return None
    visible = ImportBatch.objects.visible_to(actor).filter(pk=seen.pk).first()
    return DuplicateFile(visible, seen)


def import_file(actor, *, source: ImportSource, file_name: str, data: bytes, legal_basis: str, legal_reference: str,
                purpose: str, purpose_detail: str = "", valid_only: bool = False, via: str = ImportBatch.Via.PAGE,
                external_reference: str = "", organization: Organization | None = None) -> ImportOutcome:
    """Import an agency file (CSV or XLSX) as a batch; see the module docstring."""
    return _import(actor, source=source, file_name=file_name, data=data, sha=hashlib.sha256(data).hexdigest(),
                   legal_basis=legal_basis, legal_reference=legal_reference, purpose=purpose,
                   purpose_detail=purpose_detail, valid_only=valid_only, via=via, external_reference=external_reference,
                   organization=organization)


def rows_as_csv(rows: list[dict]) -> bytes:
    """Rows given as objects ({field: value}) as a CSV file in Birge's field names."""
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise ValidationError({"rows": _("Send a non-empty list of rows, each an object of field: value.")})
    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    unknown = [k for k in keys if k not in registers.FIELDS]
    if unknown:
        raise ValidationError({"rows": _("Unknown fields: %(fields)s; known: %(known)s.") % {
            "fields": ", ".join(map(str, unknown)), "known": ", ".join(registers.FIELDS)}})
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(keys)
    for r in rows:
        w.writerow(["" if r.get(k) is None else str(r.get(k)) for k in keys])
    return out.getvalue().encode("utf-8")


def import_rows(actor, *, source: ImportSource, rows: list[dict], file_name: str = "", legal_basis: str,
                legal_reference: str, purpose: str, purpose_detail: str = "", valid_only: bool = False,
                external_reference: str = "", organization: Organization | None = None) -> ImportOutcome:
    """Import rows sent as data (an API client, an X-Road adapter): the same checks as a file.

    The rows use Birge's field names; the same rows (in any key order) are recognised as a
    re-import by the SHA-256 of their canonical JSON.
    """
    data = rows_as_csv(rows)
    canonical = json.dumps([{k: ("" if v is None else str(v)) for k, v in sorted(r.items())} for r in rows],
                           ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    name = (file_name or "").strip() or (external_reference or "").strip() or "rows.json"
    return _import(actor, source=source, file_name=name, data=data, sha=hashlib.sha256(canonical).hexdigest(),
                   legal_basis=legal_basis, legal_reference=legal_reference, purpose=purpose,
                   purpose_detail=purpose_detail, valid_only=valid_only, via=ImportBatch.Via.API_ROWS,
                   external_reference=external_reference, organization=organization, mapping={})


@transaction.atomic  # a batch and its rows appear together or not at all
def _import(actor, *, source, file_name, data, sha, legal_basis, legal_reference, purpose, purpose_detail, valid_only,
            via, external_reference, organization, mapping=None) -> ImportOutcome:
    if not access.can(actor, "write", Rec.REGISTER):
        raise PermissionDenied
    org = _acting_organization(actor, organization)
    errors = _check_provenance(legal_basis, legal_reference, purpose)
    if source is None or not source.is_active:
        errors["source"] = _("Choose an active source.")
    file_name = (file_name or "").strip()[:255] or "register.csv"
    if errors:
        raise ValidationError(errors)
    duplicate = _duplicate_of(actor, sha)
    if duplicate is not None:
        raise duplicate
    aliases = registers.aliases_for(source.column_mapping if mapping is None else mapping)
    try:
        # The line number of each row, for the rows kept (run_import reports errors by line itself).
        _header, rows, _encoding = read_rows(file_name, data)
        lines = [line for line, _cells in rows]
    except ImportFileError as exc:
        raise ValidationError({"file": [str(exc)]}) from None
    resolver = registers.TerritoryResolver()
    seen_ids: set[str] = set()
    today = timezone.localdate()
    position = iter(lines)
    warnings: list = []
    made: dict = {}

    def validate(row):
        line = next(position)
        cleaned = registers.clean_row(row, resolver=resolver, seen_ids=seen_ids, today=today)
        for p in cleaned.problems:
            warnings.append((line, p["field"], p["message"]))
        return line, cleaned

    def write(valid):
        batch = ImportBatch(
            source=source, organization=org, file_name=file_name, sha256=sha, via=via,
            external_reference=(external_reference or "").strip()[:200], uploaded_by=actor, legal_basis=legal_basis,
            legal_reference=legal_reference.strip(), purpose=purpose, purpose_detail=(purpose_detail or "").strip())
        batch.full_clean()
        batch.save()
        people = []
        for line, cleaned in valid:
            person = ImportedPerson(batch=batch, row_number=line, problems=cleaned.problems, **cleaned.values)
            person.search_key = names.search_key(person.full_name)  # bulk_create does not call save()
            people.append(person)
        ImportedPerson.objects.bulk_create(people, batch_size=2000)
        made["batch"] = batch
        made["with_warnings"] = sum(1 for _line, c in valid if c.problems)
        return len(people)

    try:
        report = run_import(file_name, data, aliases=aliases, required=registers.REQUIRED, validate=validate,
                            write=write, valid_only=valid_only)
    except ImportFileError as exc:
        raise ValidationError({"file": [str(exc)]}) from None
    if not report.committed:
        return ImportOutcome(report=report, warnings=warnings)
    batch = made["batch"]
    batch.rows_total = report.total
    batch.rows_imported = report.written
    batch.rows_rejected = len(report.bad_lines)
    batch.rows_with_warnings = made["with_warnings"]
    batch.encoding = report.encoding
    batch.report = {"errors": report.as_dict()["errors"][:1000],
                    "warnings": [{"line": ln, "field": f, "message": m} for ln, f, m in warnings[:1000]]}
    batch.save(update_fields=["rows_total", "rows_imported", "rows_rejected", "rows_with_warnings", "encoding", "report"])
    reason = _("%(n)d of %(total)d rows imported from %(file)s; legal basis: %(basis)s (%(ref)s); purpose: %(purpose)s.") % {
        "n": report.written, "total": report.total, "file": file_name, "basis": batch.get_legal_basis_display(),
        "ref": batch.legal_reference, "purpose": batch.get_purpose_display()}
    audit.record_create(actor, batch, event="import_batch.created", reason=reason)
    return ImportOutcome(report=report, batch=batch, warnings=warnings)


@transaction.atomic
def withdraw_batch(actor, batch: ImportBatch, *, reason: str) -> ImportBatch:
    """Withdraw a batch imported by mistake: its pairs leave the queue, the same file may come again."""
    _require_write(actor, batch)
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status == ImportBatch.Status.WITHDRAWN:
        raise ValidationError(_("This batch is withdrawn already."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the batch is withdrawn.")})
    old = batch.status
    batch.status = ImportBatch.Status.WITHDRAWN
    batch.withdrawn_at = timezone.now()
    batch.withdraw_reason = reason
    batch.save(update_fields=["status", "withdrawn_at", "withdraw_reason"])
    MatchLink.objects.filter(person__batch=batch, state__in=[MatchLink.State.PENDING, MatchLink.State.UNSURE]).update(
        state=MatchLink.State.WITHDRAWN)
    # The rows of other registers no longer count as the same child as this batch's rows; pairs proposed
    # through them leave the review queue (links already made stay, as the batch's own do).
    across = PersonLink.objects.filter(Q(person_a__batch=batch) | Q(person_b__batch=batch)).exclude(
        state=PersonLink.State.WITHDRAWN).update(state=PersonLink.State.WITHDRAWN, withdrawn_at=batch.withdrawn_at)
    proposed = list(MatchLink.objects.filter(via__batch=batch, method=LinkMethod.OTHER_REGISTER, state__in=OPEN_REVIEW)
                    .exclude(person__batch=batch).select_related("person", "person__batch"))
    MatchLink.objects.filter(pk__in=[p.pk for p in proposed]).update(state=MatchLink.State.WITHDRAWN)
    for person in {p.person_id: p.person for p in proposed}.values():
        _refresh_person(person)
    audit.record(actor, AuditEvent.Action.TRANSITION, batch, event="import_batch.withdrawn", reason=reason,
                 changes={"state": [old, batch.status], "same_child_pairs_withdrawn": across,
                          "pairs_through_it_withdrawn": len(proposed)})
    return batch


# --- linkage -----------------------------------------------------------------------------------------

_SEX_CODE = {Sex.FEMALE: "F", Sex.MALE: "M", "": ""}


def _places(code: str, region_code: str | None, district_code: str | None) -> tuple[str, str, str]:
    """Region, district and settlement codes of a territory for the engine (empty when unknown)."""
    if not code:
        return "", "", ""
    region = region_code or ""
    district = district_code or ""
    settlement = code if code not in (region, district) else ""
    return region, district, settlement


def learner_records(queryset=None):
    """The learner register as prepared linkage records (LEFT), streamed from the database."""
    qs = queryset if queryset is not None else Learner.objects.filter(merged_into__isnull=True, archived_at__isnull=True)
    rows = qs.order_by().values_list("pk", "pin", "last_name", "first_name", "patronymic", "birth_date", "sex",
                                     "territory__code", "territory__region__code", "territory__district__code")
    for pk, pin, last, first, patronymic, birth_date, sex, code, region, district in rows.iterator(chunk_size=5000):
        r, d, s = _places(code, region, district)
        yield prepare(str(pk), pin or "", last, first, patronymic, birth_date, _SEX_CODE.get(sex, ""), r, d, s)


def person_records(persons):
    """Imported persons as prepared linkage records (RIGHT)."""
    rows = persons.order_by("pk").values_list("pk", "pin", "last_name", "first_name", "patronymic", "birth_date", "sex",
                                              "territory__code", "territory__region__code", "territory__district__code")
    for pk, pin, last, first, patronymic, birth_date, sex, code, region, district in rows.iterator(chunk_size=5000):
        r, d, s = _places(code, region, district)
        yield prepare(str(pk), pin or "", last, first, patronymic, birth_date, _SEX_CODE.get(sex, ""), r, d, s)


class ProgressRecorder:
    """Keeps a run's progress on the batch (``link_stats["progress"]``), at most every ``every`` seconds."""

    def __init__(self, batch: ImportBatch, every: float = 2.0, also=None):
        self.batch, self.every, self.also, self.last = batch, every, also, 0.0

    def __call__(self, stage: str, done: int, total: int | None):
        if self.also:
            self.also(stage, done, total)
        now = time.monotonic()
        if now - self.last < self.every and stage != "done":
            return
        self.last = now
        progress = {"stage": stage, "done": done, "total": total, "at": timezone.now().isoformat()}
        ImportBatch.objects.filter(pk=self.batch.pk).update(link_stats={**(self.batch.link_stats or {}), "progress": progress})


def _batch_to_link(actor, batch: ImportBatch) -> ImportBatch:
    """The batch as it is now, if ``actor`` may link it and it is not withdrawn."""
    _require_write(actor, batch)
    batch = ImportBatch.objects.get(pk=batch.pk)
    if batch.status == ImportBatch.Status.WITHDRAWN:
        raise ValidationError(_("This batch is withdrawn."))
    return batch


def _link_config() -> LinkConfig:
    """The linkage settings (``BIRGE_LINKAGE``) as the engine's configuration."""
    return LinkConfig(link_threshold=conf.linkage("link_threshold"), review_threshold=conf.linkage("review_threshold"),
                      workers=conf.linkage("workers"))


def linkable_persons(batch: ImportBatch):
    """Rows of the batch a linkage run takes: those not linked and not waiting for review."""
    return batch.persons.filter(link_state__in=[LinkState.NOT_LINKED, LinkState.NO_MATCH])


def link_batch(actor, batch: ImportBatch, *, progress=None, config: LinkConfig | None = None) -> dict:
    """Link the batch's rows to the learners: links, review pairs, no-match; returns the run statistics.

    Rows linked or waiting for review are left alone; pairs a reviewer rejected are not proposed
    again. May run again later (new learners are registered every day). A row linked now passes its
    learner on to the rows that are the same child in other registers; then the rows left without a
    learner are linked to the other batches' rows without one (:func:`link_across`).
    """
    batch = _batch_to_link(actor, batch)
    cfg = config or _link_config()
    persons = linkable_persons(batch)
    n_right = persons.count()
    recorder = ProgressRecorder(batch, also=progress)
    if n_right:
        result = link(learner_records(), person_records(persons), cfg, progress=recorder, right_total=n_right,
                      left_total=Learner.objects.count())
        links, review, stats = result.links, result.review, result.stats
    else:
        links, review, stats = [], [], {"left_records": 0, "right_records": 0, "exact_links": 0, "probabilistic_links": 0,
                                        "review_pairs": 0, "seconds": {"total": 0}}
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        rejected = set(MatchLink.objects.filter(person__batch=batch, state=MatchLink.State.REJECTED)
                       .values_list("person_id", "learner_id"))
        existing = set(MatchLink.objects.filter(person__batch=batch).values_list("person_id", "learner_id"))
        taken = set(ImportedPerson.objects.filter(batch=batch, learner__isnull=False).values_list("learner_id", flat=True))
        now = timezone.now()
        new_pairs = []
        linked_person: dict[int, MatchLink] = {}
        for p, state in [(p, MatchLink.State.LINKED) for p in links] + [(p, MatchLink.State.PENDING) for p in review]:
            key = (int(p.right_id), int(p.left_id))
            if key in existing or key in rejected:
                continue
            if state == MatchLink.State.LINKED and key[1] in taken:
                state = MatchLink.State.PENDING  # that learner is linked to another row of this batch already
            pair = MatchLink(person_id=key[0], learner_id=key[1], score=p.score, weight=p.weight,
                             method=LinkMethod.PIN if p.method == "pin" else LinkMethod.PROBABILISTIC,
                             reason=p.reason[:200], fields=[list(f) for f in p.fields], state=state, created_at=now)
            new_pairs.append(pair)
            existing.add(key)
            if state == MatchLink.State.LINKED:
                linked_person[key[0]] = pair
                taken.add(key[1])
        MatchLink.objects.bulk_create(new_pairs, batch_size=2000)
        in_review = {pair.person_id for pair in new_pairs if pair.state == MatchLink.State.PENDING} - set(linked_person)
        counts = _save_link_states(batch, linked_person, in_review)
        # Rows linked now that were the same child as rows of other registers pass the learner on.
        holders = ImportedPerson.objects.filter(batch=batch, link_state=LinkState.LINKED).filter(_in_person_links(
            PersonLink.State.LINKED)).values_list("pk", "learner_id")
        origins = {pk: learner_id for pk, learner_id in holders if pk in linked_person}
        counts["linked_through"] = _spread(actor, origins) if origins else 0
        old = batch.status
        batch.status = ImportBatch.Status.LINKED
        batch.linked_at = now
        batch.link_stats = {
            "runs": (batch.link_stats or {}).get("runs", 0) + 1, "at": now.isoformat(),
            "learners": stats.get("left_records", 0), "rows": stats.get("right_records", 0),
            "exact_links": stats.get("exact_links", 0), "probabilistic_links": stats.get("probabilistic_links", 0),
            "review_pairs": stats.get("review_pairs", 0), "seconds": stats.get("seconds", {}).get("total", 0),
            "thresholds": {"link": cfg.link_threshold, "review": cfg.review_threshold}, **counts,
            "progress": {"stage": "done", "done": 1, "total": 1, "at": now.isoformat()},
        }
        batch.save(update_fields=["status", "linked_at", "link_stats"])
        audit.record_transition(actor, batch, old, batch.status, event="import_batch.linked", reason=_(
            "%(linked)d rows linked, %(review)d sent to review, %(none)d without a match.") % {
            "linked": counts["linked"], "review": counts["review"], "none": counts["no_match"]})
    return link_across(actor, batch, config=cfg, progress=progress)


def _save_link_states(batch, linked_person: dict, in_review: set) -> dict:
    """Set the state of each row a run took: linked, waiting for review, or no match."""
    for person_id, pair in linked_person.items():
        ImportedPerson.objects.filter(pk=person_id).update(
            link_state=LinkState.LINKED, learner_id=pair.learner_id, link_method=pair.method, link_score=pair.score)
    review = linkable_persons(batch).filter(pk__in=in_review).update(link_state=LinkState.REVIEW)
    no_match = linkable_persons(batch).update(link_state=LinkState.NO_MATCH)
    return {"linked": len(linked_person), "review": review, "no_match": no_match}


# --- the same child in other registers ------------------------------------------------------------------
#
# A child on no register of learners may be in several agency registers (the MSEK register and a
# health referral list, or this month's and last month's delivery of one register). The rows without
# a learner are linked to each other by the same engine, thresholds and records as the learner run:
# from the link threshold a PersonLink is "the same child", between the thresholds "possibly". The
# rows linked as the same child form a group (a connected set of pairs); when one of them gets a
# learner, every other row of the group is linked to it too (:func:`_spread`), and the rows only
# possibly the same child are proposed in the review queue with that learner. Nothing is decided on a
# PersonLink itself: a person decides on the row × learner pairs it leads to (accept, reject, undo).

CHUNK = 500  # ids per IN (...) list


def _in_person_links(state, field: str = "pk") -> Q:
    """Rows (``field`` holding a row id) that are one side of a PersonLink in ``state``."""
    links = PersonLink.objects.filter(state=state)
    return Q(**{f"{field}__in": links.values("person_a_id")}) | Q(**{f"{field}__in": links.values("person_b_id")})


def _edges(row_ids, state) -> list[PersonLink]:
    """The PersonLinks in ``state`` with one side among ``row_ids``, once each, oldest first."""
    ids = list(row_ids)
    found: dict[int, PersonLink] = {}
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        for link_ in PersonLink.objects.filter(state=state).filter(Q(person_a_id__in=chunk) | Q(person_b_id__in=chunk)):
            found[link_.pk] = link_
    return [found[k] for k in sorted(found)]


class _Groups:
    """Union-find over row ids (the groups of rows linked as one child)."""

    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while self.parent.get(x, x) != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def same_child_groups(row_ids, *, limit: int = 200) -> dict[int, set[int]]:
    """For each of ``row_ids``, the other rows linked to it as the same child (directly or through other rows).

    Walks the pairs outwards from the given rows, one query per step, at most ``limit`` rows in all.
    """
    groups = _Groups()
    seen = set(row_ids)
    frontier = set(row_ids)
    while frontier and len(seen) <= limit:
        nxt = set()
        for edge in _edges(frontier, PersonLink.State.LINKED):
            groups.union(edge.person_a_id, edge.person_b_id)
            for pk in (edge.person_a_id, edge.person_b_id):
                if pk not in seen:
                    seen.add(pk)
                    nxt.add(pk)
        frontier = nxt
    members: dict[int, set[int]] = {}
    for pk in seen:
        members.setdefault(groups.find(pk), set()).add(pk)
    return {pk: members[groups.find(pk)] - {pk} for pk in row_ids}


def _other_rows_without_learner(batch: ImportBatch):
    """LEFT of the run across registers: rows of the other batches (not withdrawn) without a learner."""
    return (ImportedPerson.objects.filter(link_state=LinkState.NO_MATCH).exclude(batch=batch)
            .exclude(batch__status=ImportBatch.Status.WITHDRAWN))


def _stand_ins(batch: ImportBatch) -> set[int]:
    """Rows of the other registers left out of LEFT: all but one row of each group found to be one child.

    A child already found in two registers would otherwise be two equally good candidates for the new
    row, and the engine sends such rivals to review (the namesake rule). One row stands for the group:
    the one with a valid PIN and the most fields filled.
    """
    groups = _Groups()
    edges = PersonLink.objects.filter(state=PersonLink.State.LINKED, person_a__link_state=LinkState.NO_MATCH,
                                      person_b__link_state=LinkState.NO_MATCH).values_list("person_a_id", "person_b_id")
    for a, b in edges.iterator(chunk_size=5000):
        groups.union(a, b)
    if not groups.parent:
        return set()
    best: dict[int, tuple] = {}
    members = []
    rows = (_other_rows_without_learner(batch).filter(_in_person_links(PersonLink.State.LINKED))
            .values_list("pk", "pin", "last_name", "patronymic", "sex", "territory_id"))
    for pk, pin, last, patronymic, sex, territory in rows.iterator(chunk_size=5000):
        root = groups.find(pk)
        key = (bool(pin) and is_valid_pin(pin), bool(last), bool(patronymic), bool(sex), territory is not None, -pk)
        if root not in best or key > best[root][0]:
            best[root] = (key, pk)
        members.append(pk)
    keep = {pk for _key, pk in best.values()}
    return {pk for pk in members if pk not in keep}


def link_across(actor, batch: ImportBatch, *, config: LinkConfig | None = None, progress=None) -> dict:
    """Link the batch's rows without a learner to the rows without a learner of the other batches.

    Runs after :func:`link_batch`'s learner run (which calls it); the same engine, thresholds and
    records. Each pair is stored once (a PersonLink); a pair found before is left as it is. Returns
    the batch's statistics with the counts of this run added.
    """
    batch = _batch_to_link(actor, batch)
    cfg = config or _link_config()
    right = batch.persons.filter(link_state=LinkState.NO_MATCH)
    left = _other_rows_without_learner(batch)
    n_right = right.count()
    found, compared = [], 0
    if n_right and left.exists():
        skip = _stand_ins(batch)
        records = (r for r in person_records(left) if int(r[0]) not in skip)
        result = link(records, person_records(right), cfg, progress=progress, right_total=n_right)
        found = [(p, PersonLink.State.LINKED) for p in result.links] + [(p, PersonLink.State.PENDING) for p in result.review]
        compared = result.stats.get("left_records", 0)
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        now = timezone.now()
        new = []
        if batch.status != ImportBatch.Status.WITHDRAWN:  # withdrawn while the engine ran: nothing is kept
            existing = set(PersonLink.objects.filter(Q(person_a__batch=batch) | Q(person_b__batch=batch))
                           .values_list("person_a_id", "person_b_id"))
            for p, state in found:
                a, b = sorted((int(p.left_id), int(p.right_id)))
                if (a, b) in existing:
                    continue
                existing.add((a, b))
                new.append(PersonLink(person_a_id=a, person_b_id=b, batch=batch, score=p.score, weight=p.weight,
                                      method=LinkMethod.PIN if p.method == "pin" else LinkMethod.PROBABILISTIC,
                                      reason=p.reason[:200], fields=[list(f) for f in p.fields], state=state,
                                      created_at=now))
            PersonLink.objects.bulk_create(new, batch_size=2000)
        made = PersonLink.objects.filter(batch=batch, created_at=now)
        # The other row's batch withdrawn while the engine ran: that pair does not count.
        made.filter(Q(person_a__batch__status=ImportBatch.Status.WITHDRAWN)
                    | Q(person_b__batch__status=ImportBatch.Status.WITHDRAWN)).update(
            state=PersonLink.State.WITHDRAWN, withdrawn_at=now)
        # A row given a learner while the engine ran passes it on along its new pairs.
        holders = ImportedPerson.objects.filter(learner__isnull=False, link_state=LinkState.LINKED).filter(
            Q(pk__in=made.filter(state=PersonLink.State.LINKED).values("person_a_id"))
            | Q(pk__in=made.filter(state=PersonLink.State.LINKED).values("person_b_id")))
        origins = dict(holders.values_list("pk", "learner_id"))
        through = _spread(actor, origins) if origins else 0
        stats = dict(batch.link_stats or {})
        counts = {
            "register_rows_compared": compared,
            "same_child_links": made.filter(state=PersonLink.State.LINKED).count(),
            "possible_same_child": made.filter(state=PersonLink.State.PENDING).count(),
            "rows_in_other_registers": in_other_registers(batch.persons.all()).count(),
            "linked_through": stats.get("linked_through", 0) + through,
        }
        stats.update(counts)
        stats["progress"] = {"stage": "done", "done": 1, "total": 1, "at": now.isoformat()}
        batch.link_stats = stats
        batch.save(update_fields=["link_stats"])
        audit.record(actor, AuditEvent.Action.UPDATE, batch, event="import_batch.linked_across", changes=counts, reason=_(
            "Rows without a learner compared with %(compared)d rows of other registers: %(same)d pairs of the same "
            "child, %(possible)d possibly the same child; %(through)d rows linked to a learner through another "
            "register.") % {"compared": compared, "same": counts["same_child_links"],
                            "possible": counts["possible_same_child"], "through": counts["linked_through"]})
    return batch.link_stats


_FIXED_MODEL = None


def _row_learner_fields(person_id: int, learner_id: int) -> list:
    """The engine's per-field comparison of a row and a learner (levels with the fixed model's weights)."""
    global _FIXED_MODEL
    from .linkage.compare import compare
    from .linkage.model import train

    if _FIXED_MODEL is None:
        _FIXED_MODEL = train([], [], prior_match=1e-4)
    (row,) = person_records(ImportedPerson.objects.filter(pk=person_id))
    (learner,) = learner_records(Learner.objects.filter(pk=learner_id))
    return [list(f) for f in _FIXED_MODEL.explain(compare(learner, row))]


def _pass_on(actor, person_id: int, learner_id: int, via: ImportedPerson, edge: PersonLink, *,
             possible: bool) -> MatchLink | bool:
    """Link (or propose) one row to the learner of a row that is the same child (or possibly) in another register.

    Returns the pair made, True when the row holds that learner already, False when nothing was
    done: a row of a withdrawn batch, a row linked to another learner, a pair decided or proposed
    before (a rejection is never proposed again).
    """
    person = ImportedPerson.objects.select_for_update(of=("self",)).select_related("batch").get(pk=person_id)
    if person.batch.status == ImportBatch.Status.WITHDRAWN:
        return False
    pairs = list(person.candidates.all())
    active = next((p for p in pairs if p.state in ACTIVE_LINK), None)
    if active is not None:
        return active.learner_id == learner_id
    if any(p.learner_id == learner_id for p in pairs):
        return False
    state, reason = MatchLink.State.LINKED, ""
    if possible:
        state, reason = MatchLink.State.PENDING, "possibly the same child as a row of another register"
    elif ImportedPerson.objects.filter(batch_id=person.batch_id, learner_id=learner_id).exists():
        state, reason = MatchLink.State.PENDING, "left record linked to another"
    elif any(p.state in OPEN_REVIEW for p in pairs):
        state, reason = MatchLink.State.PENDING, "the row has other candidates"
    pair = MatchLink(person=person, learner_id=learner_id, score=edge.score, weight=edge.weight,
                     method=LinkMethod.OTHER_REGISTER, reason=reason, fields=_row_learner_fields(person_id, learner_id),
                     state=state, via=via)
    pair.save()
    _refresh_person(person)
    where = {"line": via.row_number, "batch": via.batch_id}
    if state == MatchLink.State.LINKED:
        event, why = "match_link.linked_through", _(
            "The same child as line %(line)s of batch %(batch)s, another register's row linked to this learner.") % where
    else:
        event, why = "match_link.proposed_through", _(
            "Found through line %(line)s of batch %(batch)s, another register's row linked to this learner; "
            "waiting for review.") % where
    audit.record(actor, AuditEvent.Action.CREATE, pair, event=event, changes={"after": audit.snapshot(pair)}, reason=why)
    return pair


def _spread(actor, origins: dict[int, int]) -> int:
    """Pass the learner of each origin row ({row id: learner id}) on to the rows that are the same child.

    Walks the same-child pairs outwards (one query per step): each row reached is linked to the
    learner (or proposed for review when in doubt, see :func:`_pass_on`) and passes it on in turn;
    then the rows possibly the same child as any of them are proposed for review. The acting user's
    step (registering, accepting, linking) is what authorises this: the rows reached may be in
    registers of other offices, and each pair made is an audit event in the learner's history.
    Returns how many pairs were made.
    """
    made = 0
    holders = dict(origins)
    reached = set(origins)
    frontier = dict(origins)
    rows: dict[int, ImportedPerson] = {}

    def row(pk):
        if pk not in rows:
            rows[pk] = ImportedPerson.objects.only("pk", "row_number", "batch_id").get(pk=pk)
        return rows[pk]

    while frontier:
        nxt: dict[int, int] = {}
        for edge in _edges(frontier, PersonLink.State.LINKED):
            for src in (edge.person_a_id, edge.person_b_id):
                dst = edge.other(src)
                if src not in frontier or dst in reached:
                    continue
                reached.add(dst)
                outcome = _pass_on(actor, dst, frontier[src], row(src), edge, possible=False)
                made += isinstance(outcome, MatchLink)
                if outcome is True or (isinstance(outcome, MatchLink) and outcome.state == MatchLink.State.LINKED):
                    nxt[dst] = frontier[src]
        holders.update(nxt)
        frontier = nxt
    for edge in _edges(holders, PersonLink.State.PENDING):
        for src in (edge.person_a_id, edge.person_b_id):
            dst = edge.other(src)
            if src in holders and dst not in reached:
                reached.add(dst)
                made += isinstance(_pass_on(actor, dst, holders[src], row(src), edge, possible=True), MatchLink)
    return made


@dataclass
class SameChildRow:
    """A row of another register that is (or possibly is) the same child as a given row."""

    SAME = SameChildRelation.SAME.value
    POSSIBLY = SameChildRelation.POSSIBLY.value

    person: ImportedPerson
    relation: str  # SAME (linked from the link threshold) or POSSIBLY (between the thresholds)
    score: float | None  # the probability of their own pair; None when linked through other rows

    @property
    def is_same(self) -> bool:
        return self.relation == self.SAME


def same_child_rows(user, persons) -> dict[int, list[SameChildRow]]:
    """For each row of ``persons``, the rows of the same child in other registers that ``user`` may see.

    The same child: every row linked to it through same-child pairs (directly, with the pair's
    probability, or through other rows); possibly the same child: its own pairs between the
    thresholds. Rows out of the user's reach are simply not listed.
    """
    ids = [p.pk for p in persons]
    if not ids:
        return {}
    groups = same_child_groups(ids)
    direct: dict[tuple[int, int], PersonLink] = {}
    possible: dict[int, dict[int, PersonLink]] = {}
    for state in (PersonLink.State.LINKED, PersonLink.State.PENDING):
        for edge in _edges(ids, state):
            for src in (edge.person_a_id, edge.person_b_id):
                if src in groups:
                    if state == PersonLink.State.LINKED:
                        direct[(src, edge.other(src))] = edge
                    elif edge.other(src) not in groups[src]:
                        possible.setdefault(src, {})[edge.other(src)] = edge
    wanted = set().union(*groups.values(), *(set(d) for d in possible.values()))
    visible = {p.pk: p for p in ImportedPerson.objects.visible_to(user).filter(pk__in=list(wanted))
               .select_related("batch", "batch__source", "territory")} if wanted else {}
    out: dict[int, list[SameChildRow]] = {}
    for pk in ids:
        rows = []
        for other in sorted(groups[pk]):
            if other in visible:
                edge = direct.get((pk, other))
                rows.append(SameChildRow(visible[other], SameChildRow.SAME, edge.score if edge else None))
        for other, edge in sorted(possible.get(pk, {}).items()):
            if other in visible:
                rows.append(SameChildRow(visible[other], SameChildRow.POSSIBLY, edge.score))
        out[pk] = rows
    return out


def in_other_registers(persons):
    """The rows of ``persons`` (a queryset) linked as the same child to a row of another register."""
    return persons.filter(_in_person_links(PersonLink.State.LINKED))


def should_link_inline(batch: ImportBatch) -> bool:
    """Small runs happen in the request; larger ones go to the task worker (``birge worker``)."""
    limit = conf.linkage("inline_rows")
    return batch.rows_imported <= limit


def request_link(actor, batch: ImportBatch) -> bool:
    """Link now when the batch is small (True), else queue a background run (False)."""
    batch = _batch_to_link(actor, batch)
    if should_link_inline(batch):
        link_batch(actor, batch)
        return True
    from .tasks import link_batch_task

    ImportBatch.objects.filter(pk=batch.pk).update(link_stats={
        **(batch.link_stats or {}), "progress": {"stage": "queued", "done": 0, "total": None,
                                                 "at": timezone.now().isoformat()}})
    audit.record(actor, AuditEvent.Action.UPDATE, batch, event="import_batch.link_requested")
    transaction.on_commit(lambda: link_batch_task.enqueue(batch.pk, actor.pk))
    return False


# --- clerical review ---------------------------------------------------------------------------------

ACTIVE_LINK = (MatchLink.State.LINKED, MatchLink.State.ACCEPTED)
OPEN_REVIEW = (MatchLink.State.PENDING, MatchLink.State.UNSURE)
DECISIONS = {
    Decision.ACCEPT: (MatchLink.State.ACCEPTED, Decision.ACCEPT.label),
    Decision.REJECT: (MatchLink.State.REJECTED, Decision.REJECT.label),
    Decision.UNSURE: (MatchLink.State.UNSURE, Decision.UNSURE.label),
}


def review_queue(user):
    """Pairs waiting for a person's decision (rows not linked yet), best first, within the user's reach."""
    return (MatchLink.objects.visible_to(user)
            .filter(state__in=OPEN_REVIEW, person__link_state=LinkState.REVIEW)
            .exclude(person__batch__status=ImportBatch.Status.WITHDRAWN))


def _refresh_person(person: ImportedPerson) -> ImportedPerson:
    """The row's link follows its pairs: an active link, else open review, else no match."""
    pairs = list(person.candidates.all())
    active = [p for p in pairs if p.state in ACTIVE_LINK]
    if active:
        best = max(active, key=lambda p: (p.decided_at or p.created_at))
        person.link_state, person.learner_id, person.link_score = LinkState.LINKED, best.learner_id, best.score
        person.link_method = LinkMethod.CLERICAL if best.state == MatchLink.State.ACCEPTED and best.method != LinkMethod.REGISTERED \
            else best.method
    else:
        person.learner_id, person.link_method, person.link_score = None, "", None
        if any(p.state in OPEN_REVIEW for p in pairs):
            person.link_state = LinkState.REVIEW
        elif person.batch.status == ImportBatch.Status.LINKED:
            person.link_state = LinkState.NO_MATCH
        else:
            person.link_state = LinkState.NOT_LINKED
    person.save(update_fields=["link_state", "learner", "link_method", "link_score"])
    return person


@transaction.atomic
def decide(actor, pair: MatchLink, decision: str, *, reason: str = "") -> MatchLink:
    """A reviewer's decision on a pair: accept (the same child), reject (different), unsure (more information)."""
    if decision not in DECISIONS:
        raise ValidationError({"decision": _("Choose accept, reject or unsure.")})
    _require_write(actor, pair)
    pair = MatchLink.objects.select_for_update(of=("self",)).select_related("person", "person__batch").get(pk=pair.pk)
    reason = (reason or "").strip()
    if pair.person.batch.status == ImportBatch.Status.WITHDRAWN:
        raise ValidationError(_("This batch is withdrawn."))
    if pair.state not in OPEN_REVIEW:
        raise ValidationError(_("This pair was decided already; undo that decision first."))
    if decision == "unsure" and pair.state == MatchLink.State.UNSURE:
        raise ValidationError(_("This pair is marked unsure already."))
    if decision in ("reject", "unsure") and not reason:
        raise ValidationError({"reason": _("Say why, for whoever looks at this pair next.")})
    if len(reason) > 2000:
        raise ValidationError({"reason": _("Keep the reason under 2000 characters.")})
    person = pair.person
    if decision == "accept":
        other = person.candidates.filter(state__in=ACTIVE_LINK).exclude(pk=pair.pk).first()
        if other is not None:
            raise ValidationError(_("This register row is linked to another learner already; undo that link first."))
        clash = ImportedPerson.objects.filter(batch=person.batch, learner_id=pair.learner_id).exclude(pk=person.pk).first()
        if clash is not None:
            raise ValidationError(_("This learner is linked to another row of the same batch (line %(line)s); "
                                    "undo that link first.") % {"line": clash.row_number})
    old = pair.state
    pair.state = DECISIONS[decision][0]
    pair.decided_by, pair.decided_at, pair.decision_reason = actor, timezone.now(), reason
    pair.save(update_fields=["state", "decided_by", "decided_at", "decision_reason"])
    _refresh_person(person)
    audit.record_transition(actor, pair, old, pair.state, event=f"match_link.{pair.state}", reason=reason)
    if pair.state == MatchLink.State.ACCEPTED:
        _spread(actor, {person.pk: pair.learner_id})
    return pair


@transaction.atomic
def undo(actor, pair: MatchLink, *, reason: str) -> MatchLink:
    """Put a decided (or automatically linked) pair back in the review queue, with a reason."""
    _require_write(actor, pair)
    pair = MatchLink.objects.select_for_update(of=("self",)).select_related("person", "person__batch").get(pk=pair.pk)
    if pair.person.batch.status == ImportBatch.Status.WITHDRAWN:
        raise ValidationError(_("This batch is withdrawn."))
    if pair.state not in (MatchLink.State.LINKED, MatchLink.State.ACCEPTED, MatchLink.State.REJECTED, MatchLink.State.UNSURE):
        raise ValidationError(_("There is no decision to undo on this pair."))
    if pair.method == LinkMethod.REGISTERED:
        raise ValidationError(_("A learner registered from this row stays linked to it."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the decision is undone.")})
    old = pair.state
    pair.state = MatchLink.State.PENDING
    pair.decided_by, pair.decided_at, pair.decision_reason = actor, timezone.now(), reason
    pair.save(update_fields=["state", "decided_by", "decided_at", "decision_reason"])
    _refresh_person(pair.person)
    audit.record_transition(actor, pair, old, pair.state, event="match_link.undone", reason=reason)
    if old in ACTIVE_LINK:
        _undo_through(actor, pair, reason)
    return pair


def _undo_through(actor, pair: MatchLink, reason: str) -> None:
    """The links made automatically through a row whose link is undone go back to the review queue too."""
    followers = MatchLink.objects.select_for_update(of=("self",)).filter(
        via_id=pair.person_id, learner_id=pair.learner_id, method=LinkMethod.OTHER_REGISTER, state=MatchLink.State.LINKED)
    for follower in followers.select_related("person", "person__batch"):
        why = _("Undone with pair %(id)s, through which it was made: %(reason)s") % {"id": pair.pk, "reason": reason}
        follower.state = MatchLink.State.PENDING
        follower.decided_by, follower.decided_at, follower.decision_reason = actor, timezone.now(), why
        follower.save(update_fields=["state", "decided_by", "decided_at", "decision_reason"])
        _refresh_person(follower.person)
        audit.record_transition(actor, follower, MatchLink.State.LINKED, follower.state, event="match_link.undone",
                                reason=why)
        _undo_through(actor, follower, reason)


def allowed_decisions(user, pair: MatchLink) -> list[str]:
    if not access.can_write(user, pair) or pair.person.batch.status == ImportBatch.Status.WITHDRAWN:
        return []
    if pair.state == MatchLink.State.PENDING:
        return ["accept", "reject", "unsure"]
    if pair.state == MatchLink.State.UNSURE:
        return ["accept", "reject", "undo"]
    if pair.state in (MatchLink.State.LINKED, MatchLink.State.ACCEPTED, MatchLink.State.REJECTED):
        return [] if pair.method == LinkMethod.REGISTERED else ["undo"]
    return []


def opened(actor, record) -> None:
    """A register row or pair (sensitive: a disability register) was shown."""
    audit.record_read(actor, record)


# --- a child not on any register of learners -----------------------------------------------------------


def _default_end(birth_date: dt.date) -> dt.date:
    """A child's status runs to the day before the 18th birthday unless the register says otherwise."""
    try:
        eighteen = birth_date.replace(year=birth_date.year + 18)
    except ValueError:
        eighteen = birth_date.replace(year=birth_date.year + 18, day=28)
    return eighteen - dt.timedelta(days=1)


@transaction.atomic
def register_person(actor, person: ImportedPerson, *, confirm_new: bool = False) -> Learner:
    """Register the child of a row without a match as a learner (with the register's disability status).

    The child then exists for everyone who works with children of that territory, and an
    out-of-school search finds them. Refused while a pair of the row waits for review or the row
    is linked; the learner registry's own checks (a PIN registered already, likely duplicates
    unless ``confirm_new``) apply.
    """
    from birge.learners import services as learner_services

    _require_write(actor, person)
    person = ImportedPerson.objects.select_for_update(of=("self",)).select_related("batch", "batch__organization",
                                                                        "territory").get(pk=person.pk)
    if person.batch.status == ImportBatch.Status.WITHDRAWN:
        raise ValidationError(_("This batch is withdrawn."))
    if person.link_state == LinkState.LINKED:
        raise ValidationError(_("This row is linked to a learner already."))
    if person.link_state == LinkState.REVIEW:
        raise ValidationError(_("Decide the pairs waiting for review first."))
    if person.link_state == LinkState.NOT_LINKED:
        raise ValidationError(_("Link the batch first: the child may be registered already."))
    territory = person.territory or person.batch.organization.territory
    pin = person.pin if person.pin and is_valid_pin(person.pin) else ""  # a mistyped PIN is not carried over
    learner = learner_services.create_learner(
        actor, pin=pin, last_name=person.last_name, first_name=person.first_name, patronymic=person.patronymic,
        birth_date=person.birth_date, sex=person.sex or "", territory=territory, confirm_mismatch=True,
        confirm_new_despite_duplicates=confirm_new, organization=person.batch.organization)
    details = person.details or {}
    if details.get("disability_category") or person.batch.source.kind == "disability-register":
        category = details.get("disability_category") or "child"
        starts = dt.date.fromisoformat(details["disability_from"]) if details.get("disability_from") else \
            timezone.localtime(person.batch.uploaded_at).date()
        indefinite = bool(details.get("indefinite"))
        ends = None if indefinite else (dt.date.fromisoformat(details["disability_until"])
                                        if details.get("disability_until") else _default_end(person.birth_date))
        if learner_services.may(actor, "write", Rec.DISABILITY, learner):
            learner_services.record_disability(
                actor, learner, category=category, starts_on=starts, ends_on=ends, indefinite=indefinite,
                certificate_number=details.get("certificate_number", ""),
                certifying_body=person.batch.organization if person.batch.source.kind == "disability-register" else None)
    pair = MatchLink(person=person, learner=learner, score=1.0, weight=0.0, method=LinkMethod.REGISTERED, fields=[],
                     state=MatchLink.State.ACCEPTED, decided_by=actor, decided_at=timezone.now(),
                     decision_reason=_("Registered as a new learner from the register row."))
    pair.save()
    _refresh_person(person)
    audit.record(actor, AuditEvent.Action.CREATE, pair, event="imported_person.registered",
                 changes={"after": audit.snapshot(pair)}, reason=_("Batch %(batch)s, line %(line)s.") % {
                     "batch": person.batch_id, "line": person.row_number})
    _spread(actor, {person.pk: learner.pk})  # the same child's rows in other registers follow
    return learner


# =========================================================================================================
# Outreach: out-of-school children with a disability or a concern
# =========================================================================================================
#
# A child is *out of school* when they are of preschool or school age (BIRGE_OUTREACH: 3 to 17 full
# years), have a valid disability status, a recorded developmental concern, or a row in a disability
# register or a health-referral batch linked to them — and no active enrolment anywhere. Each such
# child without an open case gets an outreach case assigned to the local self-government of their
# territory of residence; the district education department is informed. The contact clock
# (BIRGE_DEADLINES["outreach_contact"]) runs from the opening to the first contact.



@dataclass(frozen=True)
class Transition:
    name: str
    slug: str
    label: object
    sources: tuple
    target: str
    needs_reason: bool = False


S = OutreachState
OUTREACH_TRANSITIONS: dict[str, Transition] = {t.name: t for t in [
    Transition("contact", "contacted", gettext_lazy("Record the contact with the family"), (S.TO_CONTACT,), S.CONTACTED),
    Transition("refer", "referred-to-pmpk", gettext_lazy("Referred to the PMPK"), (S.CONTACTED,), S.REFERRED_TO_PMPK),
    Transition("enrol", "enrolled", gettext_lazy("Enrolled"), (S.TO_CONTACT, S.CONTACTED, S.REFERRED_TO_PMPK), S.ENROLLED),
    Transition("decline", "family-declined", gettext_lazy("The family declined"), (S.CONTACTED, S.REFERRED_TO_PMPK),
               S.FAMILY_DECLINED, needs_reason=True),
    Transition("move", "moved", gettext_lazy("Moved away: pass the case on"), (S.TO_CONTACT, S.CONTACTED, S.REFERRED_TO_PMPK),
               S.MOVED, needs_reason=True),
    Transition("not_found", "not-found", gettext_lazy("Not found"), (S.TO_CONTACT, S.CONTACTED), S.NOT_FOUND,
               needs_reason=True),
    Transition("deceased", "deceased", gettext_lazy("Deceased"), (S.TO_CONTACT, S.CONTACTED, S.REFERRED_TO_PMPK), S.DECEASED,
               needs_reason=True),
    Transition("reopen", "reopen", gettext_lazy("Reopen the case"), (S.FAMILY_DECLINED, S.NOT_FOUND), S.TO_CONTACT,
               needs_reason=True),
]}
TRANSITIONS_BY_SLUG = {t.slug: t for t in OUTREACH_TRANSITIONS.values()}


def can_find_out_of_school(user) -> bool:
    """Local self-government officers (who work the cases) and social-protection officers (who bring the registers)."""
    return access.can(user, "write", Rec.OUTREACH) or access.can(user, "write", Rec.REGISTER)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def active_enrolments(today: dt.date | None = None):
    today = today or timezone.localdate()
    return Enrolment.objects.filter(status=Enrolment.Status.ACTIVE, starts_on__lte=today).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=today))


def out_of_school(learners, today: dt.date | None = None):
    """The learners of ``learners`` who are out of school (see above), annotated with nothing; a queryset."""
    from birge.referrals.models import Concern

    today = today or timezone.localdate()
    youngest = _years_before(today, conf.outreach("preschool_from"))  # born on or before: old enough
    oldest = _years_before(today, conf.outreach("school_until") + 1) + dt.timedelta(days=1)  # born on or after
    valid_status = DisabilityStatus.objects.filter(closed_at__isnull=True, starts_on__lte=today).filter(
        Q(indefinite=True) | Q(ends_on__isnull=True) | Q(ends_on__gte=today))
    registered = ImportedPerson.objects.filter(
        learner__isnull=False, batch__source__kind__in=[AgencyKind.DISABILITY_REGISTER, AgencyKind.HEALTH_REFERRALS],
    ).exclude(batch__status=ImportBatch.Status.WITHDRAWN)
    grounds = (Q(pk__in=valid_status.values("learner_id")) | Q(pk__in=Concern.objects.values("learner_id"))
               | Q(pk__in=registered.values("learner_id")))
    return (learners.filter(archived_at__isnull=True, merged_into__isnull=True, birth_date__lte=youngest,
                            birth_date__gte=oldest)
            .filter(grounds)
            .exclude(pk__in=active_enrolments(today).values("learner_id")))


def covering_organization(territory: Territory, kind: str):
    """The active organization of ``kind`` whose territory holds ``territory`` most closely (or None)."""
    best = None
    for org in Organization.objects.filter(kind=kind, is_active=True).select_related("territory"):
        prefix = org.territory.prefix
        if territory.code.startswith(prefix) and (best is None or len(prefix) > len(best.territory.prefix)):
            best = org
    return best


def _ground_of(learner, today) -> tuple[str, ImportedPerson | None]:
    found_in = (ImportedPerson.objects.filter(learner=learner).exclude(batch__status=ImportBatch.Status.WITHDRAWN)
                .select_related("batch__source").order_by("-batch__uploaded_at").first())
    has_status = DisabilityStatus.objects.filter(learner=learner, closed_at__isnull=True).exists()
    if has_status or (found_in and found_in.batch.source.kind == AgencyKind.DISABILITY_REGISTER):
        return OutreachCase.Ground.DISABILITY, found_in
    return OutreachCase.Ground.CONCERN, found_in


def _tell(case: OutreachCase, message) -> None:
    """The local self-government's officers and the district education department's officers (no personal data)."""
    users = list(deadlines.organization_users(case.assigned_organization, [Role.LOCAL_GOVERNMENT_OFFICER]))
    if case.informed_organization_id:
        users += list(deadlines.organization_users(case.informed_organization, [Role.DISTRICT_OFFICER]))
    deadlines.notify(users, message, case.get_absolute_url(), event="outreach.case")


@transaction.atomic
def open_case(actor, learner: Learner, *, ground: str, found_in: ImportedPerson | None = None,
              territory: Territory | None = None, previous_case: OutreachCase | None = None,
              notify: bool = True) -> OutreachCase:
    """Open an outreach case for a child, assigned to the local self-government of ``territory``
    (default: the child's address), with the district education department informed."""
    if actor is not None and not can_find_out_of_school(actor) and previous_case is None:
        raise PermissionDenied
    territory = territory or learner.territory
    if OutreachCase.objects.filter(learner=learner, state__in=OPEN_OUTREACH_STATES).exists():
        raise ValidationError(_("This child has an open outreach case already."))
    assigned = covering_organization(territory, OrgKind.LOCAL_GOVERNMENT)
    if assigned is None:
        raise ValidationError({"territory": _("No local self-government organization is registered for %(place)s.") % {
            "place": territory.name}})
    informed = covering_organization(territory, OrgKind.DISTRICT_EDUCATION)
    case = OutreachCase(learner=learner, ground=ground, found_in=found_in, territory=territory, assigned_organization=assigned,
                        informed_organization=informed, opened_by=actor if getattr(actor, "pk", None) else None,
                        previous_case=previous_case)
    case.full_clean(exclude=["learner", "previous_case"])
    case.save()
    audit.record_create(actor, case, event="outreach.opened")
    deadlines.start_clock(actor, case, Clock.OUTREACH_CONTACT, owner_organization=assigned, waiting_organization=informed,
                          learner=learner)
    if notify:
        _tell(case, gettext_lazy("A new outreach case: an out-of-school child's family to contact."))
    return case


@dataclass
class FindResult:
    opened: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # (learner id, message)


def find_out_of_school(actor, *, territory: Territory | None = None, today: dt.date | None = None,
                       notify: bool = True) -> FindResult:
    """Open a case for every out-of-school child within the actor's reach (everyone's when ``actor`` is
    None: the ``birge outreach`` command) who has no open case. Returns the cases opened and the children
    skipped with the reason (no local self-government registered for their territory)."""
    today = today or timezone.localdate()
    if actor is not None:
        if not can_find_out_of_school(actor):
            raise PermissionDenied
        learners = Learner.objects.visible_to(actor)
    else:
        learners = Learner.objects.all()
    if territory is not None:
        learners = learners.filter(territory__code__startswith=territory.prefix)
    with_case = OutreachCase.objects.filter(state__in=OPEN_OUTREACH_STATES).values("learner_id")
    result = FindResult()
    for learner in out_of_school(learners, today).exclude(pk__in=with_case).select_related("territory").order_by("pk"):
        ground, found_in = _ground_of(learner, today)
        try:
            result.opened.append(open_case(actor, learner, ground=ground, found_in=found_in, notify=notify))
        except ValidationError as exc:
            result.skipped.append((learner.pk, exc.messages[0]))
    return result


def allowed_transitions(user, case: OutreachCase) -> list[Transition]:
    if not access.can_write(user, case):
        return []
    return [t for t in OUTREACH_TRANSITIONS.values() if case.state in t.sources]


@transaction.atomic
def transition(actor, case: OutreachCase, name: str, *, reason: str = "", moved_to: Territory | None = None,
               ) -> OutreachCase:
    """Move an outreach case through its workflow (see ``OUTREACH_TRANSITIONS``); each step is audited."""
    t = OUTREACH_TRANSITIONS.get(name)
    if t is None:
        raise ValidationError(_("Unknown step."))
    if not access.can_write(actor, case):
        raise PermissionDenied
    case = OutreachCase.objects.select_for_update(of=("self",)).select_related("learner", "territory").get(pk=case.pk)
    if case.state not in t.sources:
        raise ValidationError(_("This step is not possible now: the case is “%(state)s”.") % {
            "state": case.get_state_display()})
    reason = (reason or "").strip()
    if t.needs_reason and not reason:
        raise ValidationError({"reason": _("Say why.")})
    if len(reason) > 2000:
        raise ValidationError({"reason": _("Keep the note under 2000 characters.")})
    now = timezone.now()
    old = case.state
    enrolment = None
    # Whether the officer may change the child's record, asked while the case still ties the child to them.
    may_write_learner = t.target == S.MOVED and access.can_write(actor, case.learner)
    if t.target == S.ENROLLED:
        enrolment = active_enrolments().filter(learner=case.learner).order_by("-starts_on").first()
        if enrolment is None:
            raise ValidationError(_("The child has no active enrolment yet: the kindergarten or school records it first "
                                    "(on the learner's page), then mark the case enrolled."))
    if t.target == S.MOVED:
        if moved_to is None:
            raise ValidationError({"moved_to": _("Choose the territory the family moved to.")})
        if moved_to.pk == case.territory_id:
            raise ValidationError({"moved_to": _("This is the case's own territory.")})
        if covering_organization(moved_to, OrgKind.LOCAL_GOVERNMENT) is None:
            raise ValidationError({"moved_to": _("No local self-government organization is registered for %(place)s.") % {
                "place": moved_to.name}})
    case.state = t.target
    case.note = reason
    if t.target == S.CONTACTED:
        case.contacted_at = now
    if t.target in (S.ENROLLED, S.FAMILY_DECLINED, S.MOVED, S.NOT_FOUND, S.DECEASED):
        case.closed_at = now
        case.outcome_reason = reason
    if t.target == S.ENROLLED:
        case.enrolment = enrolment
    if t.target == S.MOVED:
        case.moved_to = moved_to
    if t.name == "reopen":
        case.closed_at, case.outcome_reason = None, ""
    case.full_clean(exclude=["learner", "previous_case"])
    case.save()
    audit.record_transition(actor, case, old, case.state, event=f"outreach.{t.name}", reason=reason)
    # The contact clock: met by a contact (or an enrolment); cancelled when the case ends otherwise.
    if t.target in (S.CONTACTED, S.ENROLLED):
        deadlines.stop_clock(actor, case, Clock.OUTREACH_CONTACT)
    elif t.target in (S.FAMILY_DECLINED, S.MOVED, S.NOT_FOUND, S.DECEASED):
        deadlines.cancel_clock(actor, case, Clock.OUTREACH_CONTACT, reason=str(t.label))
    elif t.name == "reopen":
        deadlines.start_clock(actor, case, Clock.OUTREACH_CONTACT, owner_organization=case.assigned_organization,
                              waiting_organization=case.informed_organization, learner=case.learner, restart=True)
    if t.target == S.MOVED:
        _move_learner(actor, case, moved_to, reason, may_write_learner)
        open_case(actor, case.learner, ground=case.ground, found_in=case.found_in, territory=moved_to, previous_case=case)
    if t.target == S.DECEASED and case.learner.archived_at is None and access.can_write(actor, case.learner):
        from birge.learners import services as learner_services

        learner_services.archive_learner(actor, case.learner, reason=_("Deceased (outreach case %(id)s): %(reason)s") % {
            "id": case.pk, "reason": reason})
    if t.target in (S.ENROLLED, S.MOVED, S.NOT_FOUND, S.DECEASED, S.FAMILY_DECLINED) and case.informed_organization_id:
        deadlines.notify(deadlines.organization_users(case.informed_organization, [Role.DISTRICT_OFFICER]),
                         format_lazy("{}: {}", gettext_lazy("An outreach case was closed"), OutreachState(case.state).label),
                         case.get_absolute_url(), event=f"outreach.{t.name}")
    return case


def _move_learner(actor, case: OutreachCase, moved_to: Territory, reason: str, may_write: bool) -> None:
    """A case passed on to another territory moves the child's territory of residence there.

    Through the learners' service (``learner.moved`` in the child's history), by the officer when
    they may change the child's record, else as the system's consequence of their audited step. An
    archived record is left as it is.
    """
    from birge.learners import services as learner_services

    learner = case.learner
    if learner.archived_at is not None or learner.territory_id == moved_to.pk:
        return
    why = _("Outreach case %(id)s passed on to %(place)s: %(reason)s") % {
        "id": case.pk, "place": moved_to.name, "reason": reason}
    if not may_write:
        why = _("%(why)s (step taken by %(user)s)") % {"why": why, "user": getattr(actor, "username", "")}
    case.learner = learner_services.record_move(actor if may_write else None, learner, territory=moved_to, reason=why)


def case_history(user, case: OutreachCase, limit: int = 100) -> list[AuditEvent]:
    """The case's own events (opening, steps) and its contact clock's."""
    from django.contrib.contenttypes.models import ContentType

    from birge.core.deadline_models import Deadline

    clock_ids = [str(pk) for pk in Deadline.objects.filter(content_type=ContentType.objects.get_for_model(OutreachCase),
                                                          object_id=case.pk).values_list("pk", flat=True)]
    q = Q(object_type="exchange.outreachcase", object_id=str(case.pk)) | Q(object_type="core.deadline",
                                                                              object_id__in=clock_ids)
    return list(AuditEvent.objects.filter(q).order_by("-id")[:limit])


# =========================================================================================================
# Duplicates: one child entered twice (two schools, two agencies)
# =========================================================================================================


@dataclass
class DuplicatePair:
    a: Learner  # the older record (kept by default)
    b: Learner
    score: float
    fields: list  # (comparison, level, weight)
    reason: str = ""


def can_merge(user) -> bool:
    return access.can(user, "write", Rec.LEARNER)


def find_duplicates(actor, *, territory: Territory | None = None, config: LinkConfig | None = None) -> list[DuplicatePair]:
    """Pairs of learners the actor may change that are likely one child, best first.

    The learner register (within the actor's reach, or ``territory``) is linked with itself by the same
    engine (``LinkConfig.dedupe``: a record is never compared with itself). Pairs at or above the
    review threshold are proposed — a person decides; nothing is merged automatically.
    """
    if not can_merge(actor):
        raise PermissionDenied
    learners = Learner.objects.visible_to(actor, "write").filter(merged_into__isnull=True, archived_at__isnull=True)
    if territory is not None:
        learners = learners.filter(territory__code__startswith=territory.prefix)
    records = list(learner_records(learners))
    if len(records) < 2:
        return []
    cfg = config or LinkConfig(link_threshold=conf.linkage("link_threshold"), review_threshold=conf.linkage("review_threshold"),
                               workers=1, dedupe=True, review_per_record=2)
    result = link(records, records, cfg)
    best: dict[tuple[int, int], tuple] = {}
    for p in result.links + result.review:
        a, b = sorted((int(p.left_id), int(p.right_id)))
        if (a, b) not in best or p.score > best[(a, b)][0]:
            best[(a, b)] = (p.score, p.fields, p.reason)
    by_id = Learner.objects.select_related("territory").in_bulk({i for pair in best for i in pair})
    out = [DuplicatePair(by_id[a], by_id[b], score, fields, reason) for (a, b), (score, fields, reason) in best.items()
           if a in by_id and b in by_id]
    return sorted(out, key=lambda d: (-d.score, d.a.pk, d.b.pk))


def _learner_relations():
    """Every one-to-many or one-to-one relation pointing at Learner, from any app (discovered, not imported)."""
    for rel in Learner._meta.related_objects:
        if rel.many_to_many or rel.related_model is Learner or rel.related_model is LearnerMerge:
            continue
        yield rel


def merge_preview(learner: Learner) -> list[tuple[str, int]]:
    """(kind of record, how many) that a merge would move from ``learner``."""
    out = []
    for rel in _learner_relations():
        n = rel.related_model._base_manager.filter(**{rel.field.name: learner}).count()
        if n:
            out.append((str(rel.related_model._meta.verbose_name_plural), n))
    from birge.core.deadline_models import Deadline

    n = Deadline.objects.filter(learner_id=learner.pk).count()
    if n:
        out.append((str(Deadline._meta.verbose_name_plural), n))
    return out


@transaction.atomic
def merge_learners(actor, kept: Learner, merged: Learner, *, reason: str, score: float | None = None) -> LearnerMerge:
    """Move every record of ``merged`` to ``kept`` and mark ``merged`` as merged into it; reversible.

    Both records must be within the actor's reach for writing. What cannot be combined (two active
    enrolments at one level, two open outreach cases, two different PINs) refuses the merge with the
    reason, and nothing moves. The PIN of ``merged`` moves to ``kept`` when ``kept`` has none.
    """
    from django.db import IntegrityError

    from birge.core.deadline_models import Deadline
    from birge.learners.models import PinChange

    if not (access.can_write(actor, kept) and access.can_write(actor, merged)):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why these two records are one child.")})
    kept = Learner.objects.select_for_update().get(pk=kept.pk)
    merged = Learner.objects.select_for_update().get(pk=merged.pk)
    if kept.pk == merged.pk:
        raise ValidationError(_("Choose two different records."))
    if kept.merged_into_id or merged.merged_into_id:
        raise ValidationError(_("One of these records is merged already."))
    if kept.archived_at or merged.archived_at:
        raise ValidationError(_("Restore the archived record first."))
    if kept.pin and merged.pin and kept.pin != merged.pin:
        raise ValidationError(_("The two records have different PINs (%(a)s and %(b)s): check them with the civil registry "
                                "before merging.") % {"a": kept.pin, "b": merged.pin})
    moved: dict[str, list] = {}
    try:
        with transaction.atomic():
            for rel in _learner_relations():
                model, name = rel.related_model, rel.field.name
                qs = model._base_manager.filter(**{name: merged})
                pks = list(qs.values_list("pk", flat=True))
                if pks:
                    model._base_manager.filter(pk__in=pks).update(**{name: kept})
                    moved[f"{model._meta.label_lower}.{name}"] = pks
            pks = list(Deadline.objects.filter(learner_id=merged.pk).values_list("pk", flat=True))
            if pks:
                Deadline.objects.filter(pk__in=pks).update(learner_id=kept.pk)
                moved["core.deadline.learner_id"] = pks
    except IntegrityError:
        raise ValidationError(_("These records cannot be combined as they are: both have an active enrolment at the same "
                                "level, an open outreach case or the same guardian link. End one of them first.")) from None
    merged.merged_into = kept
    merged.save(update_fields=["merged_into"])
    pin_moved = False
    if merged.pin and not kept.pin:
        kept.pin = merged.pin
        kept.save(update_fields=["pin", "search_key"])
        PinChange.objects.create(learner=kept, old_pin="", new_pin=kept.pin, changed_by=actor,
                                 reason=_("Merged with record %(id)s.") % {"id": merged.pk})
        pin_moved = True
    record = LearnerMerge(kept=kept, merged=merged, score=score, moved=moved, pin_moved=pin_moved, reason=reason,
                          merged_by=actor)
    record.save()
    changes = {"merged": merged.pk, "kept": kept.pk, "moved": {k: len(v) for k, v in moved.items()}, "pin_moved": pin_moved}
    audit.record(actor, AuditEvent.Action.UPDATE, kept, event="learner.merged", changes=changes, reason=reason)
    audit.record(actor, AuditEvent.Action.TRANSITION, merged, event="learner.merged_into",
                 changes={"merged_into": [None, kept.pk]}, reason=reason)
    return record


@transaction.atomic
def undo_merge(actor, merge: LearnerMerge, *, reason: str) -> LearnerMerge:
    """Move every record back where it was before the merge, and make the merged record active again."""
    from birge.core.deadline_models import Deadline
    from birge.learners.models import PinChange

    merge = LearnerMerge.objects.select_for_update(of=("self",)).select_related("kept", "merged").get(pk=merge.pk)
    kept, merged = merge.kept, merge.merged
    if not access.can_write(actor, kept):
        raise PermissionDenied
    if merge.undone_at:
        raise ValidationError(_("This merge was undone already."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the merge is undone.")})
    relations = {f"{rel.related_model._meta.label_lower}.{rel.field.name}": rel for rel in _learner_relations()}
    for key, pks in (merge.moved or {}).items():
        if key == "core.deadline.learner_id":
            Deadline.objects.filter(pk__in=pks).update(learner_id=merged.pk)
            continue
        rel = relations.get(key)
        if rel is not None:
            rel.related_model._base_manager.filter(pk__in=pks).update(**{rel.field.name: merged})
    if merge.pin_moved:
        pin = kept.pin
        kept.pin = ""
        kept.save(update_fields=["pin", "search_key"])
        PinChange.objects.create(learner=kept, old_pin=pin, new_pin="", changed_by=actor,
                                 reason=_("Merge %(id)s undone.") % {"id": merge.pk})
    merged.merged_into = None
    merged.save(update_fields=["merged_into"])
    merge.undone_by, merge.undone_at, merge.undo_reason = actor, timezone.now(), reason
    merge.save(update_fields=["undone_by", "undone_at", "undo_reason"])
    audit.record(actor, AuditEvent.Action.UPDATE, kept, event="learner.unmerged",
                 changes={"merged": merged.pk, "moved_back": {k: len(v) for k, v in (merge.moved or {}).items()}},
                 reason=reason)
    audit.record(actor, AuditEvent.Action.TRANSITION, merged, event="learner.unmerged",
                 changes={"merged_into": [kept.pk, None]}, reason=reason)
    return merge


def pair_comparison(a: Learner, b: Learner) -> list[tuple[str, str, float]]:
    """The engine's per-field comparison of two learners (levels with the fixed model's weights)."""
    from .linkage.compare import compare
    from .linkage.model import train

    ra, rb = list(learner_records(Learner.objects.filter(pk__in=[a.pk, b.pk])))
    if ra[0] != str(a.pk):
        ra, rb = rb, ra
    return train([], [], prior_match=1e-4).explain(compare(ra, rb))
