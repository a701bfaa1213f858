"""`import fhir`: FHIR R4 JSON (Bundles, single resources, folders, NDJSON) into the database.

The mapping is the contract of DESIGN section 7:

- Patient → `Client`; Encounter / EpisodeOfCare → `CareEpisode`; DocumentReference,
  Composition, DiagnosticReport, CarePlan, QuestionnaireResponse → `FilePart`; every other
  resource type is counted in `summary.skipped` by type.
- Rows are keyed by `source_system="fhir"` and `source_id="<Type>/<id>"` (a Bundle entry's
  fullUrl when the resource has no id), so importing the same input again changes nothing.
- Two passes over all inputs: Patients first, then the rest, because bulk exports put
  Patients and documents in separate files and folders list `DocumentReference…` first.
- Resources are written in savepoints: a batch at a time, and one per resource when the
  database refuses a batch. A bad resource is rejected (with `file`, `file:line` or
  `file#entry-index`, entry indexes counted from 0) and the others go in.

Messages never contain a BSN, a date of birth or clinical text (NEN 7510).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from arkinctl.config import Settings
from arkinctl.db.engine import describe_db_error
from arkinctl.db.models import CareEpisode, Client, FilePart
from arkinctl.errors import InvalidInputError
from arkinctl.services.audit import Actor, record
from arkinctl.services.importing import ImportSummary, Problem

SOURCE_SYSTEM = "fhir"

# Kind of file part by the code in DocumentReference.type / Composition.type (then
# .category). LOINC codes (NNNNN-N) and SNOMED codes (digits only) cannot collide, so the
# table is keyed by code alone. The first coding found here wins; no match → "other".
# DiagnosticReport, CarePlan and QuestionnaireResponse have a fixed kind (RESOURCE_KINDS).
KIND_BY_CODE: dict[str, str] = {
    # progress notes (internal by default, see config.DEFAULT_SHARED_KINDS)
    "11506-3": "progress_note",  # Progress note
    "34108-1": "progress_note",  # Outpatient note
    "34746-8": "progress_note",  # Nurse note
    "11591000146107": "progress_note",  # SNOMED NL: patiëntcontactverslag (SOAP report)
    # treatment plans
    "51847-2": "treatment_plan",  # Evaluation + Plan note
    "18776-5": "treatment_plan",  # Plan of care note
    # letters
    "18842-5": "letter",  # Discharge summary
    "11490-0": "letter",  # Physician discharge summary
    "78418-1": "letter",  # Neonatal perinatal medicine discharge summary
    "18761-7": "letter",  # Transfer summary note
    "11488-4": "letter",  # Consult note
    "57133-1": "letter",  # Referral note
    # reports
    "34117-2": "report",  # History and physical note
    "47039-3": "report",  # Inpatient admission history and physical note
    "34111-5": "report",  # Emergency department note
    "28570-0": "report",  # Procedure note
    "34133-9": "report",  # Summarization of episode note
    "60591-5": "report",  # Patient summary document
    "11502-2": "report",  # Laboratory report
    "11526-1": "report",  # Pathology study
    "18748-4": "report",  # Diagnostic imaging study
    # others
    "29548-5": "diagnosis",  # Diagnosis narrative
    "10160-0": "medication",  # History of medication use narrative
    "56445-0": "medication",  # Medication summary document
    "74465-6": "questionnaire_result",  # Questionnaire response document
    "56446-8": "appointment",  # Appointment summary document
}
RESOURCE_KINDS: dict[str, str] = {
    "DiagnosticReport": "report",
    "CarePlan": "treatment_plan",
    "QuestionnaireResponse": "questionnaire_result",
}
DOCUMENT_TYPES = frozenset(
    {"DocumentReference", "Composition", "DiagnosticReport", "CarePlan", "QuestionnaireResponse"}
)
# The entry instant of each document type (then meta.lastUpdated).
ENTRY_FIELD = {
    "DocumentReference": "date",
    "Composition": "date",
    "DiagnosticReport": "issued",
    "CarePlan": "created",
    "QuestionnaireResponse": "authored",
}
EPISODE_TYPES = {
    "Encounter": ("encounter", "subject"),
    "EpisodeOfCare": ("episode_of_care", "patient"),
}

BSN_SYSTEMS = frozenset(
    {"http://fhir.nl/fhir/NamingSystem/bsn", "urn:oid:2.16.840.1.113883.2.4.6.3"}
)
OWN_PREFIX_URL = "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix"
OWN_NAME_URL = "http://hl7.org/fhir/StructureDefinition/humanname-own-name"
CONFIDENTIALITY_SYSTEMS = frozenset(
    {
        "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
        "http://hl7.org/fhir/v3/Confidentiality",
        "urn:oid:2.16.840.1.113883.5.25",
    }
)
RESTRICTED_CODES = frozenset({"R", "V"})
WITHHELD_REASON = "restricted (confidentiality R/V)"
DRAFT_STATUSES = frozenset({"preliminary", "registered", "partial", "draft", "in-progress"})
ERROR_STATUSES = frozenset({"entered-in-error", "cancelled", "revoked"})
DOC_LIFECYCLE = {
    "current": "current",
    "superseded": "superseded",
    "entered-in-error": "entered_in_error",
}

_FHIR_DATETIME = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_NO_CLIENT = -1  # cache marker: looked up, not found (patients are all in after pass 1)
# Resources per savepoint: one round trip per batch instead of four per resource.
BATCH_SIZE = 500

_Row = Client | CareEpisode | FilePart


class _Rejected(Exception):
    """This resource cannot be imported; the reason is safe to print."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Item:
    """One resource and where it came from."""

    resource: dict[str, Any]
    where: str
    full_url: str | None = None
    # fullUrl → source key of every entry of the enclosing Bundle (for urn:uuid references).
    bundle_keys: Mapping[str, str] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return str(self.resource["resourceType"])


@dataclass(frozen=True)
class _ClientRef:
    id: int
    deceased_date: date | None


# --- small helpers for untrusted JSON ---------------------------------------------------


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _s(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _clip(value: str | None, length: int) -> str | None:
    return value if value is None or len(value) <= length else value[: length - 1] + "…"


def _codings(concept: Any) -> list[dict[str, Any]]:
    return [c for c in _l(_d(concept).get("coding")) if isinstance(c, dict)]


def _concept_text(concept: Any) -> str | None:
    """CodeableConcept.text, else the first coding's display."""
    text = _s(_d(concept).get("text"))
    if text:
        return text
    for coding in _codings(concept):
        if display := _s(coding.get("display")):
            return display
    return None


def _resource_key(resource: Mapping[str, Any], full_url: str | None) -> str | None:
    rid = _s(resource.get("id"))
    if rid:
        return f"{resource.get('resourceType')}/{rid}"
    return full_url


# --- dates ------------------------------------------------------------------------------


def _match_datetime(raw: Any) -> re.Match[str] | None:
    return _FHIR_DATETIME.match(raw.strip()) if isinstance(raw, str) else None


def _date_as_written(raw: Any) -> date | None:
    """The calendar date of a FHIR date/dateTime in its own offset; None when partial."""
    m = _match_datetime(raw)
    if not m or not m[3]:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _instant(raw: Any, tz: tzinfo) -> datetime | None:
    """A FHIR date/dateTime/instant as an aware UTC instant.

    A value without an offset is local time in `tz`, a date alone local midnight (as
    `dates.parse_instant` does); a partial date (`2019`, `2019-07`) is no instant: None.
    Not `parse_instant` itself: that one also reads Dutch typed dates, which FHIR never has.
    """
    m = _match_datetime(raw)
    if not m or not m[3]:
        return None
    fraction = (m[7] or "")[:6].ljust(6, "0")
    try:
        naive = datetime(
            int(m[1]), int(m[2]), int(m[3]),
            int(m[4] or 0), int(m[5] or 0), int(m[6] or 0), int(fraction),
        )  # fmt: skip
        if m[8]:
            offset = m[8].replace("Z", "+00:00")
            return datetime.fromisoformat(naive.isoformat() + offset).astimezone(UTC)
    except ValueError:
        return None
    return naive.replace(tzinfo=tz).astimezone(UTC)


def _partial_date(raw: Any) -> str | None:
    """`1974` or `1974-12`: what is known of a date, never completed."""
    m = _match_datetime(raw)
    if not m or m[3]:
        return None
    if m[2] and not 1 <= int(m[2]) <= 12:
        return None
    return m[0]


# --- reading inputs -----------------------------------------------------------------------


def _collect_files(paths: list[Path]) -> list[tuple[Path, str]]:
    """Every input file with the name to report it by; a missing path fails before any work."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InvalidInputError(
            f"no such file or folder: {', '.join(missing)}", hint="nothing was imported"
        )
    files: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix in (".json", ".ndjson")
            )
        else:
            found = [path]
        for p in found:
            resolved = p.resolve()
            if resolved not in seen:
                seen.add(resolved)
                files.append((p, str(p)))
    if not files:
        raise InvalidInputError(
            "no .json or .ndjson files found in " + ", ".join(str(p) for p in paths)
        )
    return files


class _Reader:
    """Yields resources from files. Problems with a file or line are reported only when
    `report` is set (the second pass), so nothing is reported twice."""

    def __init__(self, summary: ImportSummary, *, report: bool) -> None:
        self.summary = summary
        self.report = report

    def _reject(self, where: str, reason: str) -> None:
        if self.report:
            self.summary.rejected.append(Problem(where, reason))

    def read(self, path: Path, name: str, *, patients_only: bool) -> Iterator[_Item]:
        if path.suffix == ".ndjson":
            yield from self._ndjson(path, name, patients_only=patients_only)
            return
        try:
            raw = path.read_bytes()
        except OSError as exc:
            self._reject(name, f"cannot read the file ({exc.strerror or type(exc).__name__})")
            return
        if patients_only and b'"Patient"' not in raw:
            return  # cheap: no Patient in this file, so pass 1 need not parse it
        data = self._parse(raw, name)
        if data is not None:
            yield from self._expand(data, name)

    def _ndjson(self, path: Path, name: str, *, patients_only: bool) -> Iterator[_Item]:
        try:
            handle = path.open("rb")
        except OSError as exc:
            self._reject(name, f"cannot read the file ({exc.strerror or type(exc).__name__})")
            return
        with handle:
            # One line at a time: a bulk export can be far larger than memory allows.
            for lineno, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                if patients_only and b'"Patient"' not in line:
                    continue
                data = self._parse(line, f"{name}:{lineno}")
                if data is not None:
                    yield from self._expand(data, f"{name}:{lineno}")

    def _parse(self, raw: bytes, where: str) -> Any:
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            self._reject(
                where, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            )
        except UnicodeDecodeError:
            self._reject(where, "not UTF-8 text")
        except RecursionError:
            self._reject(where, "JSON nested too deeply")
        return None

    def _expand(self, data: Any, where: str) -> Iterator[_Item]:
        if not isinstance(data, dict):
            self._reject(where, "not a FHIR resource (expected a JSON object)")
            return
        rtype = data.get("resourceType")
        if not isinstance(rtype, str) or not rtype.strip():
            self._reject(where, "resource has no resourceType")
            return
        if rtype != "Bundle":
            yield _Item(data, where)
            return
        entries = _l(data.get("entry"))
        keys: dict[str, str] = {}
        for entry in entries:
            full_url = _s(_d(entry).get("fullUrl"))
            resource = _d(entry).get("resource")
            if full_url and isinstance(resource, dict):
                keys[full_url] = _resource_key(resource, full_url) or full_url
        for index, entry in enumerate(entries):
            at = f"{where}#{index}"
            resource = _d(entry).get("resource")
            if resource is None:
                if self.report:
                    self.summary.skipped["Bundle entry without resource"] += 1
                continue
            if not isinstance(resource, dict):
                self._reject(at, "entry resource is not a JSON object")
                continue
            etype = resource.get("resourceType")
            if not isinstance(etype, str) or not etype.strip():
                self._reject(at, "resource has no resourceType")
            elif etype == "Bundle":
                yield from self._expand(resource, at)
            else:
                yield _Item(resource, at, _s(_d(entry).get("fullUrl")), keys)


# --- the importer ---------------------------------------------------------------------------


@dataclass
class _Pending:
    """A mapped resource waiting to be written with the rest of its batch."""

    item: _Item
    key: str
    values: dict[str, Any]
    fingerprint: int  # hash of the field values: enough to tell two copies apart
    warnings: list[Problem]


class _Importer:
    def __init__(self, session: Session, settings: Settings, summary: ImportSummary) -> None:
        self.session = session
        self.tz = settings.timezone
        self.summary = summary
        self.clients: dict[str, _ClientRef | int] = {}  # patient key → client, or _NO_CLIENT
        # key → (where, fingerprint) of what this run took: catches one resource appearing
        # twice with different content, which would otherwise flip back and forth every run.
        self.seen: dict[str, tuple[str, int]] = {}
        self.numbers: dict[str, str] = {}  # client number → patient key, within this run
        self.pending: dict[type[_Row], list[_Pending]] = {}
        self.bad_bsn = 0
        self.number_limit: int = getattr(Client.__table__.c.client_number.type, "length", 64)

    # --- mapping (no writes), then batched writes

    def take(self, item: _Item) -> None:
        """Map one resource and queue it; a problem rejects this resource only."""
        try:
            if item.type == "Patient":
                model: type[_Row] = Client
                pending = self._patient(item)
            elif item.type in EPISODE_TYPES:
                model, pending = CareEpisode, self._episode(item)
            else:
                model, pending = FilePart, self._document(item)
        except _Rejected as exc:
            self.summary.rejected.append(Problem(item.where, exc.reason))
            return
        except (TypeError, ValueError, AttributeError, KeyError):
            # A shape the mapping did not expect (e.g. a string where FHIR has a list).
            self.summary.rejected.append(Problem(item.where, f"malformed {item.type} resource"))
            return
        earlier = self.seen.get(pending.key)
        if earlier is not None:
            if earlier[1] != pending.fingerprint:
                self.summary.rejected.append(
                    Problem(
                        item.where,
                        f"{pending.key} appears more than once in this import with different "
                        f"content; the copy at {earlier[0]} was imported, this one was not",
                    )
                )
            else:
                self.summary.unchanged[item.type] += 1  # an identical repeat
                self.summary.warnings.extend(pending.warnings)
            return
        self.seen[pending.key] = (item.where, pending.fingerprint)
        batch = self.pending.setdefault(model, [])
        batch.append(pending)
        if len(batch) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        for model, batch in self.pending.items():
            if batch:
                self._write_batch(model, batch)
        self.pending.clear()

    def _existing(self, model: type[_Row], keys: list[str]) -> dict[str | None, _Row]:
        query = select(model).where(model.source_system == SOURCE_SYSTEM, model.source_id.in_(keys))
        # select() of a union of classes types as their common base; the rows are `model`s.
        rows = cast("list[_Row]", self.session.scalars(query).all())
        return {row.source_id: row for row in rows}

    def _write_batch(self, model: type[_Row], batch: list[_Pending]) -> None:
        """One savepoint for the batch; when the database refuses it, one per resource."""
        existing = self._existing(model, [p.key for p in batch])
        if model is Client:
            batch = self._without_number_conflicts(batch)
        try:
            with self.session.begin_nested():
                done = [(p, *self._write(model, p, existing.get(p.key))) for p in batch]
                self.session.flush()
        except SQLAlchemyError:
            for p in batch:
                self._write_alone(model, p)
            return
        for p, row, outcome in done:
            self._done(p, row, outcome)

    def _write_alone(self, model: type[_Row], p: _Pending) -> None:
        try:
            with self.session.begin_nested():
                row, outcome = self._write(model, p, self._existing(model, [p.key]).get(p.key))
                self.session.flush()
        except SQLAlchemyError as exc:
            reason = describe_db_error(exc) if isinstance(exc, DBAPIError) else type(exc).__name__
            self.summary.rejected.append(
                Problem(p.item.where, f"the database refused it: {reason}")
            )
            self.seen.pop(p.key, None)  # not imported: a later copy may still go in
            return
        self._done(p, row, outcome)

    def _write(self, model: type[_Row], p: _Pending, row: _Row | None) -> tuple[_Row, Counter[str]]:
        if row is None:
            row = model(source_system=SOURCE_SYSTEM, source_id=p.key, **p.values)
            self.session.add(row)
            return row, self.summary.created
        changed = {k: v for k, v in p.values.items() if getattr(row, k) != v}
        for name, value in changed.items():
            setattr(row, name, value)
        return row, (self.summary.updated if changed else self.summary.unchanged)

    def _done(self, p: _Pending, row: _Row, outcome: Counter[str]) -> None:
        outcome[p.item.type] += 1
        self.summary.warnings.extend(p.warnings)
        if isinstance(row, Client):
            ref = _ClientRef(row.id, row.deceased_date)
            self.clients[p.key] = ref
            if p.item.full_url:
                self.clients[p.item.full_url] = ref

    def _without_number_conflicts(self, batch: list[_Pending]) -> list[_Pending]:
        """Reject a Patient whose client number another client (another source) has."""
        numbers = [p.values["client_number"] for p in batch]
        holders = {
            c.client_number: c
            for c in self.session.scalars(select(Client).where(Client.client_number.in_(numbers)))
        }
        keep = []
        for p in batch:
            holder = holders.get(p.values["client_number"])
            if holder is None or (holder.source_system, holder.source_id) == (SOURCE_SYSTEM, p.key):
                keep.append(p)
                continue
            source = f"{holder.source_system or 'unknown'} {holder.source_id or ''}".strip()
            self.seen.pop(p.key, None)
            self.summary.rejected.append(
                Problem(
                    p.item.where,
                    f"client number {p.values['client_number']} already belongs to another "
                    f"client (source {source}); not overwritten",
                )
            )
        return keep

    def _key(self, item: _Item) -> str:
        key = _resource_key(item.resource, item.full_url)
        if not key:
            raise _Rejected(f"{item.type} has no id (and no Bundle fullUrl)")
        if len(key) > 200:
            raise _Rejected(f"{item.type} id is longer than 200 characters")
        return key

    @staticmethod
    def _pending(
        item: _Item, key: str, values: dict[str, Any], warnings: list[Problem]
    ) -> _Pending:
        return _Pending(item, key, values, hash(tuple(sorted(values.items()))), warnings)

    # --- Patient → Client

    def _patient(self, item: _Item) -> _Pending:
        key = self._key(item)
        warnings: list[Problem] = []
        values = self._client_values(item, warnings)
        number = values["client_number"]
        claimed_by = self.numbers.setdefault(number, key)
        if claimed_by != key:
            raise _Rejected(
                f"client number {number} is also the number of {claimed_by} in this import"
            )
        return self._pending(item, key, values, warnings)

    def _client_number(self, resource: Mapping[str, Any], full_url: str | None) -> str:
        number = None
        for ident in _l(resource.get("identifier")):
            codes = {c.get("code") for c in _codings(_d(ident).get("type"))}
            if "MR" in codes and (value := _s(_d(ident).get("value"))):
                number = value
                break
        # No MR: the resource id, else the last part of the entry's fullUrl (urn:uuid:…).
        number = number or _s(resource.get("id"))
        if not number and full_url:
            number = re.split(r"[:/]", full_url)[-1] or None
        if not number:
            raise _Rejected("Patient has neither an MR identifier nor an id for the client number")
        if len(number) > self.number_limit:
            raise _Rejected(f"client number is longer than {self.number_limit} characters")
        return number

    def _bsn(self, resource: Mapping[str, Any], where: str, warnings: list[Problem]) -> str | None:
        from stdnum.nl import bsn as stdnum_bsn

        valid: list[str] = []
        invalid = False
        for ident in _l(resource.get("identifier")):
            if _d(ident).get("system") not in BSN_SYSTEMS:
                continue
            value = _s(_d(ident).get("value"))
            if value is None:
                continue  # a system without a value: nothing to check
            compact = str(stdnum_bsn.compact(value))
            if stdnum_bsn.is_valid(compact):
                if compact not in valid:
                    valid.append(compact)
            else:
                invalid = True
        # The number itself never goes into a message.
        if invalid:
            self.bad_bsn += 1
            warnings.append(Problem(where, "BSN fails the 11-proof; not stored"))
        if len(valid) > 1:
            warnings.append(Problem(where, "several different valid BSNs; stored the first"))
        return valid[0] if valid else None

    def _client_values(self, item: _Item, warnings: list[Problem]) -> dict[str, Any]:
        r = item.resource
        values: dict[str, Any] = {
            "client_number": self._client_number(r, item.full_url),
            "bsn": self._bsn(r, item.where, warnings),
        }
        values.update(_name(r))

        birth = r.get("birthDate")
        values["birth_date"] = _date_as_written(birth) if birth is not None else None
        values["birth_date_partial"] = None
        if birth is not None and values["birth_date"] is None:
            values["birth_date_partial"] = _partial_date(birth)
            if values["birth_date_partial"] is None:
                warnings.append(Problem(item.where, "birthDate is not a valid date; not stored"))

        values["deceased"] = False
        values["deceased_date"] = None
        if r.get("deceasedBoolean") is True:
            values["deceased"] = True
        elif isinstance(r.get("deceasedDateTime"), str):
            values["deceased"] = True
            values["deceased_date"] = _date_as_written(r["deceasedDateTime"])

        values["email"] = _clip(_telecom(r, "email"), 320)
        values["phone"] = _clip(_telecom(r, "phone"), 40)
        return values

    # --- Encounter / EpisodeOfCare → CareEpisode

    def _episode(self, item: _Item) -> _Pending:
        key = self._key(item)
        kind, subject_field = EPISODE_TYPES[item.type]
        client = self._subject(item, subject_field, what=item.type)
        period = _d(item.resource.get("period"))
        values = {
            "client_id": client.id,
            "kind": kind,
            "start_date": _date_as_written(period.get("start")),
            "end_date": _date_as_written(period.get("end")),
        }
        return self._pending(item, key, values, [])

    # --- documents → FilePart

    def _document(self, item: _Item) -> _Pending:
        key = self._key(item)
        r = item.resource
        client = self._subject(item, "subject", what="document")
        entered_at = self._entered_at(item)
        status, lifecycle = _status(item.type, r)
        withheld = _restricted(item.type, r)
        values: dict[str, Any] = {
            "client_id": client.id,
            "kind": _kind(item.type, r),
            "title": _clip(_title(item.type, r), 500),
            "entered_at": entered_at,
            "clinical_date": _clinical_date(item.type, r),
            "author": _clip(_author(item.type, r), 200),
            "status": status,
            "lifecycle": lifecycle,
            "withheld": withheld,
            "withheld_reason": WITHHELD_REASON if withheld else None,
        }
        warnings = []
        died = client.deceased_date
        if died is not None and entered_at.astimezone(self.tz).date() > died:
            warnings.append(Problem(item.where, f"{key} is dated after the client's death"))
        return self._pending(item, key, values, warnings)

    def _entered_at(self, item: _Item) -> datetime:
        name = ENTRY_FIELD[item.type]
        raw = item.resource.get(name)
        found = _instant(raw, self.tz)
        if found is None:
            found = _instant(_d(item.resource.get("meta")).get("lastUpdated"), self.tz)
        if found is None:
            problem = "is missing" if raw is None else "is partial or not a valid date"
            raise _Rejected(
                f"no entry date: {item.type}.{name} {problem} and there is no meta.lastUpdated"
            )
        return found

    # --- references

    def _subject(self, item: _Item, field_name: str, *, what: str) -> _ClientRef:
        subject = item.resource.get(field_name)
        if not isinstance(subject, dict) or not subject:
            raise _Rejected(f"{what} has no {field_name}")
        ref = _s(subject.get("reference"))
        if ref is None:
            raise _Rejected(
                f"{what} {field_name} has no reference (identifier-only is not supported)"
            )
        key = item.bundle_keys.get(ref)
        if key is None:
            m = _PATIENT_REF.search(ref)
            if m:
                key = f"Patient/{m[1]}"
            elif ref.startswith(("urn:uuid:", "urn:oid:")):
                key = ref  # a Patient imported without an id is keyed by its fullUrl
            else:
                kind = ref.split("/", 1)[0] if "/" in ref else "reference"
                raise _Rejected(f"{what} {field_name} is a {kind}, not a Patient")
        elif "/" in key and ":" not in key and not key.startswith("Patient/"):
            # Resolved within the Bundle, to an entry that is not a Patient.
            raise _Rejected(f"{what} {field_name} is a {key.split('/', 1)[0]}, not a Patient")
        client = self._client_for(key)
        if client is None:
            raise _Rejected(
                f"{what} {field_name} {key} is not a known client "
                "(not in this import nor an earlier one)"
            )
        return client

    def _client_for(self, key: str) -> _ClientRef | None:
        cached = self.clients.get(key)
        if cached is None:
            row = self.session.execute(
                select(Client.id, Client.deceased_date).where(
                    Client.source_system == SOURCE_SYSTEM, Client.source_id == key
                )
            ).first()
            cached = _ClientRef(row[0], row[1]) if row else _NO_CLIENT
            self.clients[key] = cached
        return cached if isinstance(cached, _ClientRef) else None

    def finish_notes(self) -> None:
        if self.bad_bsn:
            self.summary.notes.append(
                f"{self.bad_bsn} Patient resource(s) had a BSN that fails the 11-proof (not stored)"
            )


# --- mapping helpers --------------------------------------------------------------------


def _ext_value(element: Mapping[str, Any], url: str) -> str | None:
    for ext in _l(element.get("extension")):
        if _d(ext).get("url") == url:
            return _s(_d(ext).get("valueString"))
    return None


def _name(resource: Mapping[str, Any]) -> dict[str, str | None]:
    """Given names, tussenvoegsel and family name of the official (else first) name."""
    empty: dict[str, str | None] = {
        "given_name": None,
        "name_prefix": None,
        "family_name": None,
        "name_text": None,
    }
    names = [n for n in _l(resource.get("name")) if isinstance(n, dict)]
    if not names:
        return empty
    name = next((n for n in names if n.get("use") == "official"), names[0])
    given = " ".join(g.strip() for g in _l(name.get("given")) if isinstance(g, str) and g.strip())
    family = _s(name.get("family"))
    family_ext = _d(name.get("_family"))
    own_prefix = _ext_value(family_ext, OWN_PREFIX_URL)
    own_name = _ext_value(family_ext, OWN_NAME_URL)
    prefix = None
    if own_prefix:
        if family is None:
            prefix, family = own_prefix, own_name
        else:
            # Strip only a leading own-prefix ("van Putten-van der Giessen" → "van" +
            # "Putten-van der Giessen"). In assembly order NL3 the partner's name comes
            # first ("van der Giessen-van Putten"): that family is kept whole, no prefix.
            lead = f"{own_prefix} {own_name}" if own_name else f"{own_prefix} "
            if family.startswith(lead):
                prefix, family = own_prefix, family[len(own_prefix) :].strip()
    elif family is None and own_name:
        family = own_name
    result = dict(empty)
    result["given_name"] = _clip(given or None, 200)
    result["name_prefix"] = _clip(prefix, 60)
    result["family_name"] = _clip(family, 200)
    if not given and not family:
        result["name_text"] = _clip(_s(name.get("text")), 300)
    return result


def _telecom(resource: Mapping[str, Any], system: str) -> str | None:
    """The best-ranked current contact point of one system (`use: old` is history)."""
    points = [
        t
        for t in _l(resource.get("telecom"))
        if isinstance(t, dict) and t.get("system") == system and t.get("use") != "old"
    ]
    points.sort(key=lambda t: t["rank"] if isinstance(t.get("rank"), int) else 1 << 30)
    for point in points:
        if value := _s(point.get("value")):
            return value
    return None


def _kind(rtype: str, resource: Mapping[str, Any]) -> str:
    if rtype in RESOURCE_KINDS:
        return RESOURCE_KINDS[rtype]
    concepts = [resource.get("type"), *_l(resource.get("category"))]
    for concept in concepts:
        for coding in _codings(concept):
            kind = KIND_BY_CODE.get(str(coding.get("code", "")).strip())
            if kind:
                return kind
    return "other"


def _title(rtype: str, resource: Mapping[str, Any]) -> str | None:
    """A short label: an explicit title, else the type's text/display, else description.
    Never a note body, narrative or section text."""
    if rtype in ("Composition", "CarePlan") and (title := _s(resource.get("title"))):
        return title
    if rtype == "DiagnosticReport":
        concept: Any = resource.get("code")
    elif rtype == "CarePlan":
        concept = next(iter(_l(resource.get("category"))), None)
    else:
        concept = resource.get("type")
    return _concept_text(concept) or _s(resource.get("description"))


def _author(rtype: str, resource: Mapping[str, Any]) -> str | None:
    field_name = "performer" if rtype == "DiagnosticReport" else "author"
    authors = resource.get(field_name)
    for author in authors if isinstance(authors, list) else [authors]:
        if display := _s(_d(author).get("display")):
            return display
    return None


def _clinical_date(rtype: str, resource: Mapping[str, Any]) -> date | None:
    if rtype == "DocumentReference":
        raw = _d(_d(resource.get("context")).get("period")).get("start")
    elif rtype == "Composition":
        event = _d(next(iter(_l(resource.get("event"))), None))
        raw = _d(event.get("period")).get("start")
    elif rtype == "DiagnosticReport":
        raw = resource.get("effectiveDateTime") or _d(resource.get("effectivePeriod")).get("start")
    elif rtype == "CarePlan":
        raw = _d(resource.get("period")).get("start")
    else:
        raw = None
    return _date_as_written(raw)


def _status(rtype: str, resource: Mapping[str, Any]) -> tuple[str, str]:
    """(status, lifecycle): draft/final, and current/superseded/entered_in_error."""
    status = str(resource.get("status") or "").strip()
    if rtype == "DocumentReference":
        doc_status = str(resource.get("docStatus") or "").strip()
        lifecycle = DOC_LIFECYCLE.get(status, "current")
        if doc_status == "entered-in-error":
            lifecycle = "entered_in_error"
        return ("draft" if doc_status == "preliminary" else "final"), lifecycle
    if status in ERROR_STATUSES:
        return "final", "entered_in_error"
    return ("draft" if status in DRAFT_STATUSES else "final"), "current"


def _restricted(rtype: str, resource: Mapping[str, Any]) -> bool:
    """Confidentiality R (restricted) or V (very restricted) anywhere it can be labelled."""
    codings = [c for c in _l(_d(resource.get("meta")).get("security")) if isinstance(c, dict)]
    if rtype == "DocumentReference":
        for label in _l(resource.get("securityLabel")):
            codings.extend(_codings(label))
    for coding in codings:
        system = coding.get("system")
        if coding.get("code") in RESTRICTED_CODES and (
            system is None or system in CONFIDENTIALITY_SYSTEMS
        ):
            return True
    return rtype == "Composition" and resource.get("confidentiality") in RESTRICTED_CODES


# --- entry point --------------------------------------------------------------------------


def import_fhir(
    session: Session,
    paths: list[Path],
    *,
    settings: Settings,
    actor: Actor,
    progress: Callable[[str], None] | None = None,
) -> ImportSummary:
    """Import FHIR R4 JSON files, NDJSON files and folders of them; see the module doc.

    Runs in the caller's transaction (the caller commits) and records one audit event.
    Raises InvalidInputError, before importing anything, when a path does not exist.
    """
    files = _collect_files(paths)
    source = ", ".join(str(p) for p in paths)
    summary = ImportSummary(source=source if len(source) <= 200 else f"{len(paths)} paths")
    notify = progress or (lambda _text: None)
    importer = _Importer(session, settings, summary)

    # Pass 1: Patients, so every later reference can resolve whatever the file order.
    quiet = _Reader(summary, report=False)
    for path, name in files:
        notify(f"Reading patients from {name}")
        for item in quiet.read(path, name, patients_only=True):
            if item.type == "Patient":
                importer.take(item)
    importer.flush()

    # Pass 2: everything else; file and line problems are reported here, once.
    reader = _Reader(summary, report=True)
    for path, name in files:
        notify(f"Importing {name}")
        for item in reader.read(path, name, patients_only=False):
            if item.type in EPISODE_TYPES or item.type in DOCUMENT_TYPES:
                importer.take(item)
            elif item.type != "Patient":
                summary.skipped[item.type] += 1
    importer.flush()

    importer.finish_notes()
    record(
        session,
        actor,
        action="import.fhir",
        action_code="C",
        object_type="import",
        object_id=f"{len(files)} file{'s' if len(files) != 1 else ''}",
    )
    return summary
