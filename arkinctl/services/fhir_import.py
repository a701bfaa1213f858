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

Bad input is reported, never passed over:

- A path that does not exist stops the import before anything is done (InvalidInputError).
  A file that exists but cannot be read (permissions, a broken symbolic link, a FIFO,
  socket or device, a folder that cannot be listed) is a rejected file
  (`cannot read: permission denied`, …) and the rest imports. Only regular files are
  opened, so a FIFO never blocks the import.
- JSON that is no resource (null, a number, a string, `{}` without a string resourceType),
  a Bundle whose `entry` is not a list and an entry that is not an object are rejected. A
  top-level JSON array is rejected too ("a JSON array is not a FHIR resource or Bundle"),
  not imported element by element: FHIR defines no such format, and guessing what an
  array holds could import half of something. Broken JSON reads
  `not valid JSON: unterminated string (line 6, column 12)`.
- Dates: an unreadable birthDate is stored as missing, an unreadable deceasedDateTime still
  makes the client deceased (without a date), an unreadable or partial period or clinical
  date is not stored: each with a warning. An entry instant (`date`, `issued`, …) that is
  present but unreadable rejects the document, naming the field; a partial one falls back
  to meta.lastUpdated. A birthTime extension that names another day than birthDate keeps
  birthDate and warns; a Patient.link to another Patient (the same person) warns once per
  pair: the two records stay two clients.

Messages never contain a BSN, a date (of birth or otherwise) or clinical text (NEN 7510).
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from arkinctl.config import Settings
from arkinctl.db.engine import describe_db_error
from arkinctl.db.models import CareEpisode, Client, FilePart
from arkinctl.errors import InvalidInputError
from arkinctl.services.access import staff_only
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
BIRTH_TIME_URL = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
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


def _read_date(raw: Any) -> date | str | None:
    """A FHIR date/dateTime/instant read as written (in its own offset).

    A `date` when the value has a day; `1974` or `1974-12` (a str) when it is partial: what is
    known, never completed; None when it is no readable date at all (not a string, not the
    FHIR format, or an impossible day, hour or offset such as `2019-02-30`).
    """
    m = _match_datetime(raw)
    if not m:
        return None
    if not m[3]:
        return m[0] if not m[2] or 1 <= int(m[2]) <= 12 else None
    if _instant(raw, UTC) is None:  # the day, the time or the offset is impossible
        return None
    return date(int(m[1]), int(m[2]), int(m[3]))


def _day(raw: Any, label: str, where: str, warnings: list[Problem]) -> date | None:
    """A field stored as a whole day. When the resource has a value that cannot be stored
    (unreadable, or partial), say so in a warning; the value itself is never in it."""
    if raw is None:
        return None
    read = _read_date(raw)
    if isinstance(read, date):
        return read
    problem = "is not a valid date" if read is None else "has no day (only a year or month)"
    warnings.append(Problem(where, f"{label} {problem}; not stored"))
    return None


# --- reading inputs -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Input:
    """One input file, the name to report it by, and why it cannot be read (if so)."""

    path: Path
    name: str
    problem: str | None = None


def _cannot_read(exc: OSError) -> str:
    """`cannot read: permission denied` and the like: the OS reason, never a path."""
    if isinstance(exc, PermissionError):
        return "cannot read: permission denied"
    text = exc.strerror or type(exc).__name__
    return f"cannot read: {text[:1].lower()}{text[1:]}"


def _unreadable(path: Path) -> str | None:
    """Why the file at `path` cannot be read as a JSON file, or None when it can.

    Only regular files are read: opening a FIFO would wait for a writer forever, and a
    device can be endless. Checked before anything is imported, without reading the file.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return "cannot read: broken symbolic link (its target does not exist)"
        return "cannot read: no such file"
    except OSError as exc:
        return _cannot_read(exc)
    if not stat.S_ISREG(st.st_mode):
        return "cannot read: not a regular file (a pipe, socket or device)"
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        return _cannot_read(exc)
    return None


def _is_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


def _folder_files(folder: Path) -> list[tuple[Path, str | None]]:
    """The .json/.ndjson files under `folder`, sorted, each with why it cannot be read; a
    subfolder that cannot be listed is one more entry (it is reported, not skipped)."""
    found: list[tuple[Path, str | None]] = []
    errors: list[OSError] = []
    # Symbolic links to folders are not followed (as Path.rglob did); links to files are.
    for root, _dirs, names in os.walk(folder, onerror=errors.append):
        for name in names:
            path = Path(root, name)
            if path.suffix in (".json", ".ndjson"):
                found.append((path, _unreadable(path)))
    for exc in errors:
        where = Path(exc.filename) if exc.filename else folder
        found.append((where, _cannot_read(exc)))
    return sorted(found, key=lambda f: f[0])


def _collect_files(paths: list[Path]) -> list[_Input]:
    """Every input file with the name to report it by; a missing path fails before any work.

    A path that exists but cannot be read (permissions, a broken symbolic link, a FIFO or
    device, a folder that cannot be listed) is no reason to stop: it is kept with its
    problem and reported as a rejected file while the rest imports.
    """
    missing = []
    for path in paths:
        try:
            os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            missing.append(str(path))
        except OSError:
            pass  # e.g. a folder on the way that may not be searched: reported as unreadable
    if missing:
        raise InvalidInputError(
            f"no such file or folder: {', '.join(missing)}", hint="nothing was imported"
        )
    files: list[_Input] = []
    seen: set[Path] = set()
    for path in paths:
        found = _folder_files(path) if _is_dir(path) else [(path, _unreadable(path))]
        for p, problem in found:
            resolved = p.resolve()
            if resolved not in seen:
                seen.add(resolved)
                files.append(_Input(p, str(p), problem))
    if not files:
        raise InvalidInputError(
            "no .json or .ndjson files found in " + ", ".join(str(p) for p in paths)
        )
    return files


_NOT_JSON = object()  # _parse failed (and said why); JSON null is None, a value like any other


def _json_reason(exc: json.JSONDecodeError, *, one_line: bool) -> str:
    """`not valid JSON: unterminated string (line 6, column 12)`.

    The decoder's own messages end in "… at" or "… starting at" (they expect the position
    to follow): that tail is dropped and the position given in parentheses instead.
    """
    message = re.sub(r"\s+(?:starting\s+)?at$", "", exc.msg.strip()) or "unreadable"
    message = message[:1].lower() + message[1:]
    place = f"column {exc.colno}" if one_line else f"line {exc.lineno}, column {exc.colno}"
    return f"not valid JSON: {message} ({place})"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "not an object"


def _type_problem(resource: Mapping[str, Any]) -> str | None:
    """Why this JSON object is no resource: its resourceType is missing or not a string."""
    rtype = resource.get("resourceType")
    if rtype is None or (isinstance(rtype, str) and not rtype.strip()):
        return "resource has no resourceType"
    if not isinstance(rtype, str):
        return "resourceType is not a string"
    return None


class _Reader:
    """Yields resources from files. Problems with a file or line are reported only when
    `report` is set (the second pass), so nothing is reported twice."""

    def __init__(self, summary: ImportSummary, *, report: bool) -> None:
        self.summary = summary
        self.report = report

    def _reject(self, where: str, reason: str) -> None:
        if self.report:
            self.summary.rejected.append(Problem(where, reason))

    def read(self, source: _Input, *, patients_only: bool) -> Iterator[_Item]:
        path, name = source.path, source.name
        if source.problem is not None:
            self._reject(name, source.problem)
            return
        if path.suffix == ".ndjson":
            yield from self._ndjson(path, name, patients_only=patients_only)
            return
        try:
            raw = path.read_bytes()
        except OSError as exc:
            self._reject(name, _cannot_read(exc))
            return
        if patients_only and b'"Patient"' not in raw:
            return  # cheap: no Patient in this file, so pass 1 need not parse it
        if not raw.strip():
            self._reject(name, "the file is empty")
            return
        data = self._parse(raw, name, one_line=False)
        if data is not _NOT_JSON:
            yield from self._expand(data, name)

    def _ndjson(self, path: Path, name: str, *, patients_only: bool) -> Iterator[_Item]:
        try:
            handle = path.open("rb")
        except OSError as exc:
            self._reject(name, _cannot_read(exc))
            return
        with handle:
            # One line at a time: a bulk export can be far larger than memory allows.
            lines = enumerate(handle, start=1)
            while True:
                try:
                    lineno, line = next(lines)
                except StopIteration:
                    break
                except OSError as exc:  # e.g. an I/O error halfway through the file
                    self._reject(name, _cannot_read(exc))
                    return
                if not line.strip():
                    continue
                if patients_only and b'"Patient"' not in line:
                    continue
                # Without its line break: a position at the end is then on this line.
                data = self._parse(line.rstrip(), f"{name}:{lineno}", one_line=True)
                if data is not _NOT_JSON:
                    yield from self._expand(data, f"{name}:{lineno}")

    def _parse(self, raw: bytes, where: str, *, one_line: bool) -> Any:
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            self._reject(where, _json_reason(exc, one_line=one_line))
        except UnicodeDecodeError:
            self._reject(where, "not UTF-8 text")
        except ValueError:  # the decoder's other refusal: an integer of thousands of digits
            self._reject(where, "not valid JSON: a number has too many digits")
        except RecursionError:
            self._reject(where, "JSON nested too deeply")
        return _NOT_JSON

    def _expand(self, data: Any, where: str) -> Iterator[_Item]:
        if isinstance(data, list):
            # Not imported element by element: FHIR has no such format, and the array may
            # be anything (a search result's `entry` list cut loose, a list of ids, ...).
            self._reject(where, "a JSON array is not a FHIR resource or Bundle")
            return
        if not isinstance(data, dict):
            self._reject(where, f"not a FHIR resource or Bundle: the JSON is {_json_kind(data)}")
            return
        if problem := _type_problem(data):
            self._reject(where, problem)
            return
        if data["resourceType"] != "Bundle":
            yield _Item(data, where)
            return
        entries = data.get("entry")
        if entries is None:
            return  # an empty Bundle (a search that found nothing): nothing to import
        if not isinstance(entries, list):
            self._reject(where, "Bundle.entry is not a list; nothing in this Bundle imported")
            return
        keys: dict[str, str] = {}
        for entry in entries:
            full_url = _s(_d(entry).get("fullUrl"))
            resource = _d(entry).get("resource")
            if full_url and isinstance(resource, dict):
                keys[full_url] = _resource_key(resource, full_url) or full_url
        for index, entry in enumerate(entries):
            at = f"{where}#{index}"
            if not isinstance(entry, dict):
                self._reject(at, f"Bundle entry is not a JSON object (it is {_json_kind(entry)})")
                continue
            resource = entry.get("resource")
            if resource is None:
                # A response or a deletion in a transaction: legitimately no resource.
                if self.report:
                    self.summary.skipped["Bundle entry without resource"] += 1
                continue
            if not isinstance(resource, dict):
                self._reject(at, "entry resource is not a JSON object")
            elif problem := _type_problem(resource):
                self._reject(at, problem)
            elif resource["resourceType"] == "Bundle":
                yield from self._expand(resource, at)
            else:
                yield _Item(resource, at, _s(entry.get("fullUrl")), keys)


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
        self.linked: set[frozenset[str]] = set()  # Patient pairs already warned about
        self.number_limit: int = getattr(Client.__table__.c.client_number.type, "length", 64)
        # (client id, practitioner keys, period) from Encounter.participant and
        # EpisodeOfCare.careManager: the relationship lasts as long as the episode
        self.care: list[tuple[int, list[str], date | None, date | None]] = []

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
        except (IntegrityError, DataError):  # the data; a lost connection goes up as it is
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
        except (IntegrityError, DataError) as exc:
            reason = describe_db_error(exc)
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
        return self._without_bsn_conflicts(keep)

    def _without_bsn_conflicts(self, batch: list[_Pending]) -> list[_Pending]:
        """A BSN belongs to one client: a Patient whose BSN another client (or an earlier
        Patient of this batch) has is kept without it, with a warning that never repeats it."""
        bsns = [p.values["bsn"] for p in batch if p.values.get("bsn")]
        if not bsns:
            return batch
        owners = {
            bsn: (number, system, source_id)
            for bsn, number, system, source_id in self.session.execute(
                select(
                    Client.bsn, Client.client_number, Client.source_system, Client.source_id
                ).where(Client.bsn.in_(bsns))
            )
        }
        for p in batch:
            bsn = p.values.get("bsn")
            if not bsn:
                continue
            owner = owners.get(bsn)
            if owner is None:
                owners[bsn] = (p.values["client_number"], SOURCE_SYSTEM, p.key)
                continue
            if (owner[1], owner[2]) == (SOURCE_SYSTEM, p.key):
                continue
            p.values["bsn"] = None
            self.summary.warnings.append(
                Problem(
                    p.item.where,
                    f"its BSN already belongs to client {owner[0]}; the client is imported "
                    "without it",
                )
            )
        return batch

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
        self._links(item, key, warnings)
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
        read = _read_date(birth) if birth is not None else None
        values["birth_date"] = read if isinstance(read, date) else None
        values["birth_date_partial"] = read if isinstance(read, str) else None
        if birth is not None and read is None:
            warnings.append(Problem(item.where, "birthDate is not a valid date; not stored"))
        _check_birth_time(r, read, item.where, warnings)

        values["deceased"] = False
        values["deceased_date"] = None
        deceased = r.get("deceasedBoolean")
        if deceased is True:
            values["deceased"] = True
        elif deceased is not None and deceased is not False:
            warnings.append(Problem(item.where, "deceasedBoolean is not true or false; ignored"))
        died = r.get("deceasedDateTime")
        if died is not None:
            # The resource says the person died, whether or not the date can be read.
            values["deceased"] = True
            read = _read_date(died)
            if isinstance(read, date):
                values["deceased_date"] = read
            else:
                problem = (
                    "is not a valid date" if read is None else "has no day (only a year or month)"
                )
                warnings.append(
                    Problem(
                        item.where,
                        f"deceasedDateTime {problem}; stored as deceased without a date",
                    )
                )

        values["email"] = _clip(_telecom(r, "email"), 320)
        values["phone"] = _clip(_telecom(r, "phone"), 40)
        return values

    def _links(self, item: _Item, key: str, warnings: list[Problem]) -> None:
        """Patient.link to another Patient: the same person, kept as two clients (warn)."""
        for link in _l(item.resource.get("link")):
            ref = _s(_d(_d(link).get("other")).get("reference"))
            if ref is None:
                continue
            other = item.bundle_keys.get(ref)
            if other is None and (m := _PATIENT_REF.search(ref)):
                other = f"Patient/{m[1]}"
            if other is None or not other.startswith("Patient/") or other == key:
                continue  # a RelatedPerson (no client), or a reference we cannot name
            pair = frozenset((key, other))
            if pair in self.linked:
                continue  # the other record's link back to this one: said once
            self.linked.add(pair)
            kind = _s(_d(link).get("type"))
            kind = kind if kind and re.fullmatch(r"[a-z\-]{1,20}", kind) else "link"
            warnings.append(
                Problem(
                    item.where,
                    f"{key} is linked to {other} as the same person ({kind}); "
                    "imported as two clients",
                )
            )

    # --- Encounter / EpisodeOfCare → CareEpisode

    def _episode(self, item: _Item) -> _Pending:
        key = self._key(item)
        kind, subject_field = EPISODE_TYPES[item.type]
        client = self._subject(item, subject_field, what=item.type)
        period = _d(item.resource.get("period"))
        warnings: list[Problem] = []
        start = _day(period.get("start"), f"{item.type}.period.start", item.where, warnings)
        end = _day(period.get("end"), f"{item.type}.period.end", item.where, warnings)
        values = {"client_id": client.id, "kind": kind, "start_date": start, "end_date": end}
        if keys := _practitioner_keys(item.resource):
            self.care.append((client.id, keys, start, end))
        return self._pending(item, key, values, warnings)

    # --- documents → FilePart

    def _document(self, item: _Item) -> _Pending:
        key = self._key(item)
        r = item.resource
        client = self._subject(item, "subject", what="document")
        entered_at = self._entered_at(item)
        status, lifecycle = _status(item.type, r)
        withheld = _restricted(item.type, r)
        warnings: list[Problem] = []
        clinical_raw, clinical_field = _clinical_date(item.type, r)
        clinical = _day(clinical_raw, f"{item.type}.{clinical_field}", item.where, warnings)
        values: dict[str, Any] = {
            "client_id": client.id,
            "kind": _kind(item.type, r),
            "title": _clip(_title(item.type, r), 500),
            "entered_at": entered_at,
            "clinical_date": clinical,
            "author": _clip(_author(item.type, r), 200),
            "status": status,
            "lifecycle": lifecycle,
            "withheld": withheld,
            "withheld_reason": WITHHELD_REASON if withheld else None,
        }
        died = client.deceased_date
        if died is not None and entered_at.astimezone(self.tz).date() > died:
            warnings.append(Problem(item.where, f"{key} is dated after the client's death"))
        return self._pending(item, key, values, warnings)

    def _entered_at(self, item: _Item) -> datetime:
        """The entry field; when it is missing or partial, meta.lastUpdated. A value that is
        there but unreadable rejects the document: it may not be guessed from another."""
        label = f"{item.type}.{ENTRY_FIELD[item.type]}"
        raw = item.resource.get(ENTRY_FIELD[item.type])
        if raw is not None:
            found = _instant(raw, self.tz)
            if found is not None:
                return found
            if _read_date(raw) is None:
                raise _Rejected(f"{label} is not a valid date")
        problem = "is missing" if raw is None else "has no day (only a year or month)"
        updated = _d(item.resource.get("meta")).get("lastUpdated")
        if updated is None:
            raise _Rejected(f"no entry date: {label} {problem} and there is no meta.lastUpdated")
        found = _instant(updated, self.tz)
        if found is None:
            raise _Rejected(
                f"no entry date: {label} {problem} and meta.lastUpdated is not a valid date"
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

    def link_practitioners(self) -> None:
        """Care relationships for the practitioners the episodes name, where one of their
        keys (an identifier value, or the resource id) is an arkinctl practitioner's user
        name; the others are counted in a note."""
        from arkinctl.services.access import link_many

        links = [(cid, key, start, end) for cid, keys, start, end in self.care for key in keys]
        if not links:
            return
        made, unknown = link_many(self.session, links)
        matched = {cid for cid, key, _, _ in links if key not in unknown}
        if made:
            self.summary.created["care_relationship"] += made
        left = {cid for cid, _, _, _ in links} - matched
        if left:
            self.summary.notes.append(
                f"{len(left)} client(s) have practitioners in their encounters or episodes "
                "who are no arkinctl practitioner (user name = an identifier value or the "
                "resource id): no care relationship made for them"
            )

    def finish_notes(self) -> None:
        if self.bad_bsn:
            self.summary.notes.append(
                f"{self.bad_bsn} Patient resource(s) had a BSN that fails the 11-proof (not stored)"
            )


# --- mapping helpers --------------------------------------------------------------------


def _practitioner_keys(resource: Mapping[str, Any]) -> list[str]:
    """What may name an episode's practitioners as arkinctl users: for each reference to a
    Practitioner or PractitionerRole, its identifier value (`Practitioner?identifier=
    system|value`, or an `identifier` element) or its resource id."""
    refs = [_d(p).get("individual") for p in _l(resource.get("participant"))]
    refs += [resource.get("careManager")]
    keys: list[str] = []
    for ref in refs:
        ref = _d(ref)
        target = _s(ref.get("reference")) or ""
        if target.startswith(("Practitioner/", "PractitionerRole/")):
            keys.append(target.split("/", 1)[1])
        elif target.startswith(("Practitioner?", "PractitionerRole?")) and "|" in target:
            keys.append(target.rsplit("|", 1)[1])
        if value := _s(_d(ref.get("identifier")).get("value")):
            keys.append(value)
    return [k for k in dict.fromkeys(keys) if k and len(k) <= 64]


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


def _clinical_date(rtype: str, resource: Mapping[str, Any]) -> tuple[Any, str]:
    """The raw clinical date of a document and the field it came from (for warnings)."""
    if rtype == "DocumentReference":
        period = _d(_d(resource.get("context")).get("period"))
        return period.get("start"), "context.period.start"
    if rtype == "Composition":
        event = _d(next(iter(_l(resource.get("event"))), None))
        return _d(event.get("period")).get("start"), "event.period.start"
    if rtype == "DiagnosticReport":
        if resource.get("effectiveDateTime") is not None:
            return resource["effectiveDateTime"], "effectiveDateTime"
        return _d(resource.get("effectivePeriod")).get("start"), "effectivePeriod.start"
    if rtype == "CarePlan":
        return _d(resource.get("period")).get("start"), "period.start"
    return None, "date"


def _check_birth_time(
    resource: Mapping[str, Any], birth: date | str | None, where: str, warnings: list[Problem]
) -> None:
    """The birthTime extension on birthDate should name the same day. When it does not, the
    birthDate (the element itself) is kept and the disagreement is reported, without values."""
    for ext in _l(_d(resource.get("_birthDate")).get("extension")):
        if _d(ext).get("url") != BIRTH_TIME_URL:
            continue
        time_day = _read_date(_d(ext).get("valueDateTime"))
        if time_day is None:
            warnings.append(
                Problem(where, "the birthTime extension of birthDate is not a valid date; ignored")
            )
        elif birth is not None:
            known = birth.isoformat() if isinstance(birth, date) else birth
            told = time_day.isoformat() if isinstance(time_day, date) else time_day
            if not (known.startswith(told) or told.startswith(known)):
                warnings.append(
                    Problem(where, "birthDate and its birthTime extension disagree; kept birthDate")
                )


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
    Raises InvalidInputError, before importing anything, when a path does not exist; a file
    or folder that exists but cannot be read is reported in `summary.rejected` instead.
    """
    staff_only(actor, "importing FHIR data")
    files = _collect_files(paths)
    source = ", ".join(str(p) for p in paths)
    summary = ImportSummary(source=source if len(source) <= 200 else f"{len(paths)} paths")
    notify = progress or (lambda _text: None)
    importer = _Importer(session, settings, summary)

    # Pass 1: Patients, so every later reference can resolve whatever the file order.
    quiet = _Reader(summary, report=False)
    for file in files:
        notify(f"Reading patients from {file.name}")
        for item in quiet.read(file, patients_only=True):
            if item.type == "Patient":
                importer.take(item)
    importer.flush()

    # Pass 2: everything else; file and line problems are reported here, once.
    reader = _Reader(summary, report=True)
    for file in files:
        notify(f"Importing {file.name}")
        for item in reader.read(file, patients_only=False):
            if item.type in EPISODE_TYPES or item.type in DOCUMENT_TYPES:
                importer.take(item)
            elif item.type != "Patient":
                summary.skipped[item.type] += 1
    importer.flush()
    importer.link_practitioners()
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
