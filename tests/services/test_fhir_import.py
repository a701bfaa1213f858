"""`import_fhir`: the FHIR R4 mapping of DESIGN section 7, on real and crafted inputs.

Runs on SQLite and PostgreSQL (the `db_url` fixture behind `session`). Crafted inputs are
written into tmp_path; the real files are read in place from ../shared/realdata.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arkinctl.config import Settings
from arkinctl.db.models import AuditEvent, CareEpisode, Client, FilePart
from arkinctl.errors import InvalidInputError
from arkinctl.services import fhir_import
from arkinctl.services.audit import Actor
from arkinctl.services.fhir_import import import_fhir
from arkinctl.services.importing import ImportSummary

ACTOR = Actor(username="tester", role="admin", host=None, command="test")
SETTINGS = Settings(database_url="unused", database_is_default=False, user="tester")
CUTOFF_UTC = datetime(2022, 2, 28, 23, 0, tzinfo=UTC)  # 2022-03-01 00:00 Europe/Amsterdam


def run(session: Session, *paths: Path) -> ImportSummary:
    summary = import_fhir(session, list(paths), settings=SETTINGS, actor=ACTOR)
    session.commit()
    return summary


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def patient(pid: str, **fields: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, **fields}


def doc_ref(did: str, subject: str | None, **fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "DocumentReference", "id": did, **fields}
    if subject is not None:
        resource["subject"] = {"reference": subject}
    return resource


def client(session: Session, source_id: str) -> Client:
    found = session.scalar(select(Client).where(Client.source_id == source_id))
    assert found is not None, source_id
    return found


def part(session: Session, source_id: str) -> FilePart:
    found = session.scalar(select(FilePart).where(FilePart.source_id == source_id))
    assert found is not None, source_id
    return found


def count(session: Session, model: type[Any], *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def all_reasons(summary: ImportSummary) -> str:
    """Every reason and note, without the places (file names may contain anything)."""
    return "\n".join([*(p.reason for p in [*summary.rejected, *summary.warnings]), *summary.notes])


def all_messages(summary: ImportSummary) -> str:
    problems = [*summary.rejected, *summary.warnings]
    return "\n".join([*(f"{p.where} {p.reason}" for p in problems), *summary.notes])


# --- real data --------------------------------------------------------------------------


def test_every_real_file_imports_alone_and_again_unchanged(
    session: Session, realdata: Path
) -> None:
    files = sorted(p for p in realdata.rglob("*") if p.suffix in (".json", ".ndjson"))
    assert len(files) == 47
    for path in files:
        first = run(session, path)
        again = run(session, path)
        assert not again.created and not again.updated, path.name
        assert again.rejected == first.rejected, path.name


def test_whole_real_folder_twice_second_run_only_unchanged(
    session: Session, realdata: Path
) -> None:
    first = run(session, realdata)
    assert first.created["Patient"] == 41
    assert first.created["DocumentReference"] == 1327
    assert first.skipped["Observation"] == 299

    second = run(session, realdata)
    assert not second.created
    assert not second.updated
    assert second.unchanged["Patient"] == 41
    assert second.unchanged["DocumentReference"] == 1327
    assert second.rejected == first.rejected
    assert count(session, AuditEvent, AuditEvent.action == "import.fhir") == 2

    # The same person twice (anonymised and original) with different content: the first
    # copy wins and the second is reported, on every run, so the client never flip-flops.
    dup = [p for p in first.rejected if "appears more than once" in p.reason]
    assert {p.where.rsplit("/", 2)[-2] for p in dup} == {"original_fhir_json"}
    assert len(dup) == 2


def test_synthea_bulk_export(session: Session, realdata: Path) -> None:
    bulk = realdata / "synthea-bulk-10patients"
    # Documents first on the command line: Patients are still read first.
    summary = run(
        session,
        bulk / "DocumentReference.000.ndjson",
        bulk / "Encounter.000.ndjson",
        bulk / "Patient.000.ndjson",
    )
    assert summary.created == {"Patient": 13, "DocumentReference": 1215, "Encounter": 1215}
    assert summary.rejected == []
    assert count(session, Client) == 13
    assert count(session, FilePart) == 1215
    assert count(session, CareEpisode, CareEpisode.kind == "encounter") == 1215
    assert count(session, FilePart, FilePart.entered_at >= CUTOFF_UTC) == 33
    assert count(session, FilePart, FilePart.lifecycle == "superseded") == 1202
    assert count(session, FilePart, FilePart.lifecycle == "current") == 13
    assert count(session, Client, Client.deceased.is_(True)) == 3

    after_death = [w for w in summary.warnings if "after the client's death" in w.reason]
    assert len(after_death) == 3
    assert all(w.where.startswith(str(bulk / "DocumentReference.000.ndjson:")) for w in after_death)

    # Synthea's MR numbers are UUIDs: kept exactly as written.
    sumiko = client(session, "Patient/129c6ac7-8d06-89de-ad63-0204a93e76c3")
    assert sumiko.client_number == "129c6ac7-8d06-89de-ad63-0204a93e76c3"
    assert (sumiko.given_name, sumiko.family_name) == ("Sumiko254 Larue605", "Medhurst46")
    assert sumiko.birth_date == date(1927, 5, 21)
    # deceasedDateTime 1989-05-09T20:35:22-04:00: the date as written, not the UTC date.
    assert sumiko.deceased and sumiko.deceased_date == date(1989, 5, 9)

    note = part(session, "DocumentReference/00212c89-d070-985e-b695-b5f12fffd23e")
    assert note.entered_at == datetime(1987, 11, 19, 5, 22, 16, 824000, tzinfo=UTC)
    assert note.clinical_date == date(1987, 11, 19)
    assert (note.kind, note.status, note.lifecycle) == ("report", "final", "superseded")
    assert note.title == "History and physical note"
    assert note.author == "Dr. Liane379 Kunze215"
    assert note.client_id == sumiko.id

    again = run(session, bulk)
    assert not again.created and not again.updated
    assert again.unchanged == {"Patient": 13, "DocumentReference": 1215, "Encounter": 1215}


def test_invalid_bsn_not_stored_and_never_printed(session: Session, realdata: Path) -> None:
    hl7 = realdata / "hl7-fhir-r4-examples"
    summary = run(session, hl7 / "Patient-f001.json", hl7 / "Patient-f201.json")
    f001 = client(session, "Patient/f001")
    assert f001.bsn is None
    assert f001.client_number == "f001"
    assert f001.family_name == "van de Heuvel"  # no extensions: kept as written
    assert f001.name_prefix is None
    assert (f001.email, f001.phone) == ("p.heuvel@gmail.com", "0648352638")
    f201 = client(session, "Patient/f201")
    assert f201.bsn is None
    assert f201.given_name == "Roelof Olaf"

    bsn_warnings = [w for w in summary.warnings if "11-proof" in w.reason]
    assert [w.where for w in bsn_warnings] == [
        str(hl7 / "Patient-f001.json"),
        str(hl7 / "Patient-f201.json"),  # listed twice, warned once
    ]
    text = all_messages(summary)
    assert "738472983" not in text and "123456789" not in text
    assert "1944-11-17" not in text
    assert any(
        "2 Patient resource(s) had a BSN that fails the 11-proof" in n for n in summary.notes
    )


def test_dutch_patient_bsn_and_name_prefix(session: Session, realdata: Path) -> None:
    nictiz = realdata / "nictiz-zib2020"
    summary = run(session, nictiz)
    jo = client(session, "Patient/nl-core-Patient-01")
    assert jo.bsn == "111222333"
    assert jo.client_number == "nl-core-Patient-01"
    assert jo.given_name == "Johanna Petronella Maria"
    assert (jo.name_prefix, jo.family_name) == ("van", "Putten-van der Giessen")
    assert jo.birth_date == date(1934, 4, 28)
    assert (jo.phone, jo.email) == ("+31611234567", "giesput@myweb.nl")
    assert jo.display_name == "Johanna Petronella Maria van Putten-van der Giessen"
    # Partner name first (assembly order NL3): the own prefix does not lead, keep it whole.
    nl3 = client(session, "Patient/nl-core-NameInformation-complete")
    assert (nl3.name_prefix, nl3.family_name) == (None, "van der Giessen-van Putten")
    ingrid = client(session, "Patient/nl-core-CareTeam-01-Patient-01")
    assert (ingrid.name_prefix, ingrid.family_name) == ("de", "Jong-de Wit")

    episode = session.scalar(
        select(CareEpisode).where(CareEpisode.source_id == "EpisodeOfCare/nl-core-EpisodeOfCare-01")
    )
    assert episode is not None and episode.client_id == jo.id
    assert (episode.kind, episode.start_date, episode.end_date) == (
        "episode_of_care",
        date(2014, 4, 5),
        None,
    )
    reasons = {p.where.rsplit("/", 1)[-1]: p.reason for p in summary.rejected}
    assert reasons["Composition-nl-core-SOAPReport-01.json"] == "document has no subject"
    assert reasons["Encounter-nl-core-Encounter-01.json"] == "Encounter has no subject"
    # Long Nictiz ids (up to 53 characters) fit the client number as they are.
    assert "Patient-nl-core-TreatmentDirective2-02-Patient-01.json" not in reasons
    directive = client(session, "Patient/nl-core-TreatmentDirective2-02-Patient-01")
    assert directive.client_number == "nl-core-TreatmentDirective2-02-Patient-01"
    assert directive.bsn == "999911120"
    assert "111222333" not in all_messages(summary)


def test_nictiz_date_only_composition_is_local_midnight(
    session: Session, realdata: Path, tmp_path: Path
) -> None:
    nictiz = realdata / "nictiz-zib2020"
    soap = json.loads((nictiz / "Composition-nl-core-SOAPReport-01.json").read_text("utf-8"))
    assert soap["date"] == "2019-07-21" and "subject" not in soap
    soap["subject"] = {"reference": "Patient/nl-core-Patient-01"}
    summary = run(
        session, nictiz / "Patient-nl-core-Patient-01.json", write(tmp_path / "soap.json", soap)
    )
    assert summary.rejected == []
    soap_part = part(session, "Composition/nl-core-SOAPReport-01")
    assert soap_part.entered_at == datetime(2019, 7, 20, 22, 0, tzinfo=UTC)
    assert (soap_part.kind, soap_part.title) == ("progress_note", "Geneesmiddelbijwerking")
    assert soap_part.author == "Healthcare professional (role), H.A. Janszens"


def test_ccda_document_without_subject_rejected_with_file_and_index(
    session: Session, realdata: Path
) -> None:
    ccda = realdata / "synthea-nimbus" / "ccda_converted_anonymized"
    summary = run(session, ccda)
    angelique = ccda / "Angelique249_Koelpin146_2d88ba8f-b46a-fe33-1c6a-c2d96167fb5a.fhir.json"
    rusty = ccda / "Rusty501_Langworth352_48c4f35b-e0c7-7b1c-8739-bf4f382d983f.fhir.json"
    no_subject = [p.where for p in summary.rejected if p.reason == "document has no subject"]
    assert no_subject == [f"{angelique}#5", f"{rusty}#38"]
    # The Compositions of the same bundles do have a subject (Patient/<id>, no name).
    assert summary.created["Composition"] == 2
    unnamed = client(session, "Patient/4c031695-ec25-3432-a21b-59ad92c774dc")
    assert unnamed.given_name is None and unnamed.family_name is None
    assert unnamed.birth_date == date(2017, 1, 21)


def test_urn_uuid_references_resolve_within_bundle(session: Session, realdata: Path) -> None:
    bundle = next((realdata / "synthea-fhir-data-pipes").glob("Bob965_*.json"))
    summary = run(session, bundle)
    assert summary.rejected == []
    bob = client(session, "Patient/3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b")
    assert count(session, FilePart, FilePart.client_id == bob.id) == 64  # 32 notes + 32 reports
    assert count(session, CareEpisode, CareEpisode.client_id == bob.id) == 32


def test_restricted_and_preliminary_document(
    session: Session, realdata: Path, tmp_path: Path
) -> None:
    hl7 = realdata / "hl7-fhir-r4-examples"
    example = json.loads((hl7 / "DocumentReference-example.json").read_text("utf-8"))
    assert example["subject"] == {"reference": "Patient/xcda"}
    summary = run(session, hl7 / "DocumentReference-example.json")
    assert [p.reason for p in summary.rejected] == [
        "document subject Patient/xcda is not a known client "
        "(not in this import nor an earlier one)"
    ]
    run(session, write(tmp_path / "xcda.json", patient("xcda")))
    summary = run(session, hl7 / "DocumentReference-example.json")  # resolves now
    assert summary.created == {"DocumentReference": 1}
    example_part = part(session, "DocumentReference/example")
    assert (
        example_part.withheld and example_part.withheld_reason == "restricted (confidentiality R/V)"
    )
    assert example_part.status == "draft"  # docStatus preliminary
    assert example_part.lifecycle == "current"
    assert example_part.entered_at == datetime(2005, 12, 23, 22, 43, 41, tzinfo=UTC)  # +11:00
    assert example_part.clinical_date == date(2004, 12, 23)
    assert example_part.kind == "progress_note"  # LOINC 34108-1 outpatient note


# --- crafted inputs ---------------------------------------------------------------------


def test_partial_birth_dates_and_deceased(session: Session, tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": patient("y", birthDate="1974")},
            {"resource": patient("ym", birthDate="1974-12", deceasedBoolean=True)},
            {
                "resource": patient(
                    "d", birthDate="1950-01-02", deceasedDateTime="2015-02-14T01:00:00+10:00"
                )
            },
            {"resource": patient("bad", birthDate="1974-13-01")},
            {"resource": patient("t", name=[{"text": "张无忌"}])},
        ],
    }
    summary = run(session, write(tmp_path / "b.json", bundle))
    assert summary.created == {"Patient": 5}
    year = client(session, "Patient/y")
    assert (year.birth_date, year.birth_date_partial) == (None, "1974")
    month = client(session, "Patient/ym")
    assert (month.birth_date, month.birth_date_partial) == (None, "1974-12")
    assert month.deceased and month.deceased_date is None
    died = client(session, "Patient/d")
    assert died.birth_date == date(1950, 1, 2) and died.birth_date_partial is None
    assert died.deceased_date == date(2015, 2, 14)  # as written, though UTC is the 13th
    bad = client(session, "Patient/bad")
    assert (bad.birth_date, bad.birth_date_partial) == (None, None)
    assert [(w.where, w.reason) for w in summary.warnings] == [
        (f"{tmp_path / 'b.json'}#3", "birthDate is not a valid date; not stored")
    ]
    text_only = client(session, "Patient/t")
    assert (text_only.name_text, text_only.family_name) == ("张无忌", None)


def test_entry_instants_offsets_and_local_time(session: Session, tmp_path: Path) -> None:
    docs = [
        patient("p1"),
        doc_ref("minus4", "Patient/p1", date="2022-03-30T14:45:24.907-04:00"),
        doc_ref("naive", "Patient/p1", date="2022-03-01T00:30:00"),
        doc_ref("winter", "Patient/p1", date="2022-02-28T23:59:59"),
        doc_ref(
            "partial", "Patient/p1", date="2022-03", meta={"lastUpdated": "2022-03-05T10:00:00Z"}
        ),
        doc_ref("none", "Patient/p1"),
        {
            "resourceType": "QuestionnaireResponse",
            "id": "q",
            "status": "in-progress",
            "subject": {"reference": "Patient/p1"},
            "authored": "2023-06-01T12:00:00+02:00",
        },
    ]
    path = tmp_path / "docs.ndjson"
    path.write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    summary = run(session, path)
    assert part(session, "DocumentReference/minus4").entered_at == datetime(
        2022, 3, 30, 18, 45, 24, 907000, tzinfo=UTC
    )
    # No offset: local time in Europe/Amsterdam (CET, +01:00 in winter).
    assert part(session, "DocumentReference/naive").entered_at == datetime(
        2022, 2, 28, 23, 30, tzinfo=UTC
    )
    assert part(session, "DocumentReference/winter").entered_at < CUTOFF_UTC
    # A partial date is no instant: meta.lastUpdated is used instead.
    assert part(session, "DocumentReference/partial").entered_at == datetime(
        2022, 3, 5, 10, tzinfo=UTC
    )
    q = part(session, "QuestionnaireResponse/q")
    assert (q.kind, q.status) == ("questionnaire_result", "draft")
    assert q.entered_at == datetime(2023, 6, 1, 10, tzinfo=UTC)
    assert [(p.where, p.reason) for p in summary.rejected] == [
        (
            f"{path}:6",
            "no entry date: DocumentReference.date is missing and there is no meta.lastUpdated",
        )
    ]


def test_statuses_kinds_and_security(session: Session, tmp_path: Path) -> None:
    loinc = "http://loinc.org"
    subject = {"reference": "Patient/p1"}
    entries: list[dict[str, Any]] = [
        patient("p1"),
        doc_ref(
            "letter",
            "Patient/p1",
            date="2023-01-01",
            type={"coding": [{"system": loinc, "code": "18842-5", "display": "Discharge summary"}]},
            author=[{"display": "Dr. A. Arts"}],
        ),
        doc_ref("eie", "Patient/p1", date="2023-01-01", status="entered-in-error"),
        doc_ref(
            "secret",
            "Patient/p1",
            date="2023-01-01",
            meta={
                "security": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                        "code": "R",
                    }
                ]
            },
            type={"text": "Brief aan huisarts", "coding": [{"system": loinc, "code": "57133-1"}]},
        ),
        {
            "resourceType": "Composition",
            "id": "prelim",
            "status": "preliminary",
            "subject": subject,
            "date": "2023-01-01T10:00:00Z",
            "type": {"coding": [{"system": loinc, "code": "11506-3", "display": "Progress note"}]},
            "title": "Voortgang",
        },
        {
            "resourceType": "DiagnosticReport",
            "id": "cancelled",
            "status": "cancelled",
            "subject": subject,
            "issued": "2023-01-01T10:00:00Z",
            "effectiveDateTime": "2022-12-30",
            "code": {"text": "Bloedonderzoek"},
        },
        {
            "resourceType": "CarePlan",
            "id": "plan",
            "status": "active",
            "subject": subject,
            "created": "2023-01-01T10:00:00Z",
            "period": {"start": "2023-01-02"},
        },
        {
            "resourceType": "Composition",
            "id": "unknown",
            "status": "final",
            "subject": subject,
            "date": "2023-01-01T10:00:00Z",
            "type": {"coding": [{"system": loinc, "code": "00000-0"}]},
        },
        {"resourceType": "Observation", "id": "o1", "subject": subject},
        {"resourceType": "Condition", "id": "c1", "subject": subject},
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"resource": r} for r in entries],
    }
    summary = run(session, write(tmp_path / "b.json", bundle))
    assert summary.rejected == []
    assert summary.skipped == {"Observation": 1, "Condition": 1}

    letter = part(session, "DocumentReference/letter")
    assert (letter.kind, letter.title, letter.author) == (
        "letter",
        "Discharge summary",
        "Dr. A. Arts",
    )
    assert (letter.status, letter.lifecycle, letter.withheld) == ("final", "current", False)
    assert letter.entered_at == datetime(2022, 12, 31, 23, tzinfo=UTC)  # local midnight
    assert part(session, "DocumentReference/eie").lifecycle == "entered_in_error"
    assert part(session, "DocumentReference/eie").kind == "other"
    secret = part(session, "DocumentReference/secret")
    assert secret.withheld and secret.title == "Brief aan huisarts"
    prelim = part(session, "Composition/prelim")
    assert (prelim.kind, prelim.status, prelim.title) == ("progress_note", "draft", "Voortgang")
    cancelled = part(session, "DiagnosticReport/cancelled")
    assert (cancelled.kind, cancelled.lifecycle, cancelled.status) == (
        "report",
        "entered_in_error",
        "final",
    )
    assert cancelled.clinical_date == date(2022, 12, 30)
    plan = part(session, "CarePlan/plan")
    assert (plan.kind, plan.status, plan.clinical_date) == (
        "treatment_plan",
        "final",
        date(2023, 1, 2),
    )
    assert part(session, "Composition/unknown").kind == "other"


def test_references_in_all_shapes(session: Session, tmp_path: Path) -> None:
    # Documents before the Patient in the Bundle; urn:uuid, absolute and relative references,
    # and a Patient without an id (keyed by its fullUrl).
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0d1",
                "resource": {
                    "resourceType": "Encounter",
                    "id": "e1",
                    "subject": {"reference": "urn:uuid:aaa"},
                    "period": {"start": "2021-05-01T10:00:00-07:00", "end": "2021-05-02"},
                },
            },
            {
                "resource": doc_ref(
                    "abs", "https://ehr.example.org/fhir/Patient/p1/_history/3", date="2023-01-01"
                )
            },
            {"resource": doc_ref("noid-subject", "urn:uuid:bbb", date="2023-01-01")},
            {"resource": doc_ref("group", "Group/g1", date="2023-01-01")},
            {"resource": doc_ref("org", "urn:uuid:org1", date="2023-01-01")},
            {"fullUrl": "urn:uuid:aaa", "resource": patient("p1")},
            {"fullUrl": "urn:uuid:bbb", "resource": {"resourceType": "Patient"}},
            {"fullUrl": "urn:uuid:org1", "resource": {"resourceType": "Organization", "id": "o"}},
            {"response": {"status": "201 Created"}},
        ],
    }
    path = write(tmp_path / "refs.json", bundle)
    summary = run(session, path)
    p1 = client(session, "Patient/p1")
    no_id = client(session, "urn:uuid:bbb")
    assert no_id.client_number != p1.client_number
    episode = session.scalar(select(CareEpisode).where(CareEpisode.source_id == "Encounter/e1"))
    assert episode is not None and episode.client_id == p1.id
    assert (episode.start_date, episode.end_date) == (date(2021, 5, 1), date(2021, 5, 2))
    assert part(session, "DocumentReference/abs").client_id == p1.id
    assert part(session, "DocumentReference/noid-subject").client_id == no_id.id
    assert [(p.where, p.reason) for p in summary.rejected] == [
        (f"{path}#3", "document subject is a Group, not a Patient"),
        (f"{path}#4", "document subject is a Organization, not a Patient"),
    ]
    assert summary.skipped["Bundle entry without resource"] == 1


def test_documents_resolve_against_an_earlier_import(session: Session, tmp_path: Path) -> None:
    run(session, write(tmp_path / "p.json", patient("p1", deceasedDateTime="2020-01-01")))
    docs = [
        doc_ref("same-day", "Patient/p1", date="2020-01-01T22:30:00Z"),  # 23:30 local
        doc_ref("next-day", "Patient/p1", date="2020-01-01T23:30:00Z"),  # 00:30 local, 2 Jan
    ]
    later = tmp_path / "d.ndjson"
    later.write_text("\n".join(json.dumps(d) for d in docs), encoding="utf-8")
    summary = run(session, later)
    assert summary.created == {"DocumentReference": 2}
    assert [(w.where, w.reason) for w in summary.warnings] == [
        (f"{later}:2", "DocumentReference/next-day is dated after the client's death")
    ]


def test_reimport_updates_changed_fields_only(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    write(path, patient("p1", telecom=[{"system": "email", "value": "old@example.nl"}]))
    assert run(session, path).created == {"Patient": 1}
    assert run(session, path).unchanged == {"Patient": 1}
    write(path, patient("p1", telecom=[{"system": "email", "value": "new@example.nl"}]))
    summary = run(session, path)
    assert summary.updated == {"Patient": 1} and not summary.created
    assert client(session, "Patient/p1").email == "new@example.nl"
    assert count(session, Client) == 1


def test_client_number_of_another_source_is_not_overwritten(
    session: Session, tmp_path: Path
) -> None:
    session.add(
        Client(client_number="12345", family_name="Jansen", source_system="csv", source_id="12345")
    )
    session.commit()
    mr = {"type": {"coding": [{"code": "MR"}]}, "value": "12345"}
    path = write(tmp_path / "p.json", patient("x", identifier=[mr], name=[{"family": "Other"}]))
    summary = run(session, path)
    assert [(p.where, p.reason) for p in summary.rejected] == [
        (
            str(path),
            "client number 12345 already belongs to another client (source csv 12345); "
            "not overwritten",
        )
    ]
    assert client(session, "12345").family_name == "Jansen"
    assert count(session, Client) == 1


def test_conflicting_duplicate_in_one_import(session: Session, tmp_path: Path) -> None:
    a = write(tmp_path / "a.json", patient("p1", name=[{"family": "Eerste"}]))
    b = write(tmp_path / "b.json", patient("p1", name=[{"family": "Tweede"}]))
    c = write(tmp_path / "c.json", patient("p1", name=[{"family": "Eerste"}]))
    for _ in range(2):
        summary = run(session, a, b, c)
        assert [p.where for p in summary.rejected] == [str(b)]
        assert client(session, "Patient/p1").family_name == "Eerste"
    assert summary.unchanged == {"Patient": 2}  # a, and c (an identical repeat)


def test_malformed_file_and_bad_lines_are_reported_and_the_rest_imports(
    session: Session, tmp_path: Path
) -> None:
    (tmp_path / "broken.json").write_text('{"resourceType": "Patient", "id": ', encoding="utf-8")
    lines = [
        json.dumps(patient("p1")),
        '{"resourceType": "DocumentReference", "id": "x", ',
        "",
        json.dumps({"id": "no-type"}),
        json.dumps(doc_ref("d1", "Patient/p1", date="2023-01-01")),
        "[1, 2]",
        json.dumps(doc_ref("d2", None, date="2023-01-01")),
    ]
    (tmp_path / "mixed.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = run(session, tmp_path)
    rejected = {p.where.rsplit("/", 1)[-1]: p.reason for p in summary.rejected}
    assert rejected.keys() == {
        "broken.json",
        "mixed.ndjson:2",
        "mixed.ndjson:4",
        "mixed.ndjson:6",
        "mixed.ndjson:7",
    }
    # Changed with the JSON reasons (no more "… at at line 1 column 35"):
    assert rejected["broken.json"] == "not valid JSON: expecting value (line 1, column 35)"
    assert (
        rejected["mixed.ndjson:2"] == "not valid JSON: expecting property name enclosed in "
        "double quotes (column 49)"
    )
    assert rejected["mixed.ndjson:6"] == "a JSON array is not a FHIR resource or Bundle"
    assert rejected["mixed.ndjson:4"] == "resource has no resourceType"
    assert rejected["mixed.ndjson:7"] == "document has no subject"
    assert summary.created == {"Patient": 1, "DocumentReference": 1}
    assert part(session, "DocumentReference/d1").client_id == client(session, "Patient/p1").id


def test_missing_path_fails_before_importing_anything(session: Session, tmp_path: Path) -> None:
    good = write(tmp_path / "p.json", patient("p1"))
    with pytest.raises(InvalidInputError, match="no such file or folder"):
        import_fhir(session, [good, tmp_path / "nope.json"], settings=SETTINGS, actor=ACTOR)
    session.commit()
    assert count(session, Client) == 0
    assert count(session, AuditEvent) == 0


def test_one_audit_event_per_import(session: Session, tmp_path: Path) -> None:
    write(tmp_path / "a.json", patient("a"))
    write(tmp_path / "b.json", patient("b"))
    run(session, tmp_path)
    events = session.scalars(select(AuditEvent)).all()
    assert [(e.action, e.action_code, e.object_type, e.object_id) for e in events] == [
        ("import.fhir", "C", "import", "2 files")
    ]


def test_caller_rollback_undoes_the_import(session: Session, tmp_path: Path) -> None:
    # Savepoints must sit inside the caller's transaction (pysqlite would commit them).
    import_fhir(
        session, [write(tmp_path / "p.json", patient("p1"))], settings=SETTINGS, actor=ACTOR
    )
    session.rollback()
    assert count(session, Client) == 0
    assert count(session, AuditEvent) == 0


def test_database_refusal_loses_only_that_resource(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(session, write(tmp_path / "p.ndjson", patient("p1")))
    first = write(tmp_path / "d1.json", doc_ref("d1", "Patient/p1", date="2023-01-01"))
    run(session, first)
    # As if another importer inserted d1 meanwhile: the batch's INSERT of d1 fails, the
    # batch is retried one savepoint per resource, and only d1 is rejected.
    monkeypatch.setattr(fhir_import._Importer, "_existing", lambda self, model, keys: {})
    second = write(tmp_path / "d2.json", doc_ref("d2", "Patient/p1", date="2023-01-02"))
    summary = run(session, first, second)
    assert [p.where for p in summary.rejected] == [str(first)]
    assert summary.rejected[0].reason.startswith("the database refused it:")
    assert summary.created == {"DocumentReference": 1}
    assert count(session, FilePart) == 2


# --- unreadable inputs (item: exit 2 usage error for an unreadable file) -----------------


def unreadable_file(path: Path) -> Path:
    """A file that the OS refuses to open for reading (EACCES), for whoever runs the tests.

    A file with mode 000, when that stops us (not root). Root reads any mode, so there a
    symbolic link to a write-only sysfs attribute (`/sys/bus/*/uevent`, mode 0200), which
    the kernel refuses to open for reading even to root. Nothing in arkinctl is patched.
    """
    write(path, patient("locked"))
    path.chmod(0)
    try:
        path.read_bytes()
    except PermissionError:
        return path
    path.unlink()
    for target in sorted(glob.glob("/sys/bus/*/uevent")) + sorted(
        glob.glob("/sys/module/*/uevent")
    ):
        try:
            with open(target, "rb"):
                pass
        except PermissionError:
            path.symlink_to(target)
            return path
        except OSError:
            continue
    pytest.skip("running as root without sysfs: no file that refuses root to read it")


@contextlib.contextmanager
def fifo(path: Path) -> Iterator[Path]:
    """A named pipe. Should the importer ever open it, a writer comes along and closes at
    once (the reader sees an empty file), so a regression fails the test instead of hanging."""
    os.mkfifo(path)
    done = threading.Event()

    def unblock() -> None:
        while not done.wait(0.05):
            # Fails (ENXIO) while nobody has it open for reading: as it should be.
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))

    thread = threading.Thread(target=unblock, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        done.set()
        thread.join()


def test_unreadable_files_are_rejected_files_and_the_rest_imports(
    session: Session, tmp_path: Path
) -> None:
    good = write(tmp_path / "good.json", patient("good"))
    locked = unreadable_file(tmp_path / "locked.json")
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "gone.json")
    folder = tmp_path / "export"
    folder.mkdir()
    write(folder / "a.json", patient("a"))
    (folder / "b.json").symlink_to(tmp_path / "also-gone.json")
    with fifo(tmp_path / "pipe.json") as pipe, fifo(folder / "c.ndjson") as pipe_in_folder:
        summary = run(session, good, locked, dangling, pipe, folder)
    assert [(p.where, p.reason) for p in summary.rejected] == [
        (str(locked), "cannot read: permission denied"),
        (str(dangling), "cannot read: broken symbolic link (its target does not exist)"),
        (str(pipe), "cannot read: not a regular file (a pipe, socket or device)"),
        (str(folder / "b.json"), "cannot read: broken symbolic link (its target does not exist)"),
        (str(pipe_in_folder), "cannot read: not a regular file (a pipe, socket or device)"),
    ]
    assert summary.created == {"Patient": 2}
    assert {c.source_id for c in session.scalars(select(Client))} == {"Patient/good", "Patient/a"}
    assert count(session, AuditEvent, AuditEvent.action == "import.fhir") == 1


def test_missing_path_still_fails_first_when_another_is_unreadable(
    session: Session, tmp_path: Path
) -> None:
    good = write(tmp_path / "p.json", patient("p1"))
    locked = unreadable_file(tmp_path / "locked.json")
    with pytest.raises(InvalidInputError, match="no such file or folder") as raised:
        import_fhir(session, [good, locked, tmp_path / "nope.json"], settings=SETTINGS, actor=ACTOR)
    assert str(locked) not in str(raised.value)  # it exists: not "missing"
    session.commit()
    assert count(session, Client) == 0
    assert count(session, AuditEvent) == 0


def unlistable_folder(path: Path) -> Path:
    """A folder the OS refuses to list (EACCES): mode 000 when that stops us (the caller
    restores it), else (root) a symbolic link to /proc/1/map_files if the kernel refuses
    that to root here."""
    path.mkdir()
    write(path / "q.json", patient("q"))
    path.chmod(0)
    try:
        os.listdir(path)
    except PermissionError:
        return path
    path.chmod(0o755)
    shutil.rmtree(path)
    try:
        os.listdir("/proc/1/map_files")
    except PermissionError:
        path.symlink_to("/proc/1/map_files")
        return path
    except OSError:
        pass
    pytest.skip("running as root: no folder here that refuses root to list it")


def test_unlistable_folder_is_a_rejected_folder(session: Session, tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    write(export / "p.json", patient("p1"))
    closed = unlistable_folder(tmp_path / "closed")
    try:
        named = run(session, export, closed)
        # Inside a folder that is walked (links to folders are not followed, so not as root).
        nested = named if closed.is_symlink() else run(session, tmp_path)
    finally:
        if not closed.is_symlink():
            closed.chmod(0o755)
    for summary in (named, nested):
        assert [(p.where, p.reason) for p in summary.rejected] == [
            (str(closed), "cannot read: permission denied")
        ]
    assert named.created == {"Patient": 1}
    assert count(session, Client) == 1


# --- bad shapes are reported, never passed over in silence --------------------------------


def test_json_that_is_no_resource_is_rejected_with_a_reason(
    session: Session, tmp_path: Path
) -> None:
    files = {
        "null.json": "null",
        "number.json": "42",
        "string.json": '"Patient"',
        "bool.json": "true",
        "empty-array.json": "[]",
        "array.json": json.dumps([patient("in-array")]),
        "no-type.json": "{}",
        "type-number.json": json.dumps({"resourceType": 7, "id": "x"}),
        "type-list.json": json.dumps({"resourceType": ["Patient"], "id": "x"}),
        "empty.json": "\n",
        "entry-not-list.json": json.dumps(
            {"resourceType": "Bundle", "type": "collection", "entry": "oops"}
        ),
        "entries.json": json.dumps(
            {
                "resourceType": "Bundle",
                "type": "transaction-response",
                "entry": [
                    1,
                    "Patient/x",
                    None,
                    [],
                    {"resource": {"resourceType": {"text": "Patient"}}},
                    {"response": {"status": "201 Created"}},  # fine: no resource expected
                    {"resource": patient("ok")},
                ],
            }
        ),
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "lines.ndjson").write_text("null\n[]\n7\n" + json.dumps(patient("line")) + "\n")

    summary = run(session, tmp_path)
    rejected = {p.where.rsplit("/", 1)[-1]: p.reason for p in summary.rejected}
    assert rejected == {
        "array.json": "a JSON array is not a FHIR resource or Bundle",
        "bool.json": "not a FHIR resource or Bundle: the JSON is true or false",
        "empty-array.json": "a JSON array is not a FHIR resource or Bundle",
        "empty.json": "the file is empty",
        "entries.json#0": "Bundle entry is not a JSON object (it is a number)",
        "entries.json#1": "Bundle entry is not a JSON object (it is a string)",
        "entries.json#2": "Bundle entry is not a JSON object (it is null)",
        "entries.json#3": "Bundle entry is not a JSON object (it is an array)",
        "entries.json#4": "resourceType is not a string",
        "entry-not-list.json": "Bundle.entry is not a list; nothing in this Bundle imported",
        "lines.ndjson:1": "not a FHIR resource or Bundle: the JSON is null",
        "lines.ndjson:2": "a JSON array is not a FHIR resource or Bundle",
        "lines.ndjson:3": "not a FHIR resource or Bundle: the JSON is a number",
        "no-type.json": "resource has no resourceType",
        "null.json": "not a FHIR resource or Bundle: the JSON is null",
        "number.json": "not a FHIR resource or Bundle: the JSON is a number",
        "string.json": "not a FHIR resource or Bundle: the JSON is a string",
        "type-list.json": "resourceType is not a string",
        "type-number.json": "resourceType is not a string",
    }
    assert summary.created == {"Patient": 2}  # ok (in the Bundle) and line (NDJSON)
    assert summary.skipped == {"Bundle entry without resource": 1}
    # A top-level array is rejected, not imported element by element (see the module doc).
    assert count(session, Client, Client.source_id == "Patient/in-array") == 0


# --- unreadable dates ----------------------------------------------------------------------


def test_unreadable_dates_warn_or_reject_and_never_show_the_value(
    session: Session, tmp_path: Path
) -> None:
    entries: list[dict[str, Any]] = [
        patient("p1", deceasedDateTime="garbage", birthDate="1980-02-30"),
        patient("p2", deceasedDateTime=20150214, birthDate="19800101"),
        patient("p3", deceasedDateTime="1999", deceasedBoolean="yes"),
        patient("p4", deceasedDateTime="2015-02-14T25:00:00+01:00"),
        {
            "resourceType": "Encounter",
            "id": "e1",
            "subject": {"reference": "Patient/p1"},
            "period": {"start": "garbage", "end": "2021-13-01"},
        },
        {
            "resourceType": "EpisodeOfCare",
            "id": "eoc1",
            "patient": {"reference": "Patient/p1"},
            "period": {"start": "2014"},
        },
        # An unreadable entry instant rejects the part, even when meta.lastUpdated is there.
        doc_ref("d-garbage", "Patient/p1", date="garbage", meta={"lastUpdated": "2023-01-01"}),
        doc_ref("d-offset", "Patient/p1", date="2023-01-01T10:00:00+25:00"),
        {
            "resourceType": "Composition",
            "id": "c-feb30",
            "subject": {"reference": "Patient/p1"},
            "date": "2023-02-30T10:00:00Z",
        },
        {
            "resourceType": "DiagnosticReport",
            "id": "r-number",
            "subject": {"reference": "Patient/p1"},
            "issued": 1672567200,
        },
        doc_ref("d-meta", "Patient/p1", meta={"lastUpdated": "yesterday"}),
        # Readable entry instant, unreadable clinical date: imported, date missing, warned.
        doc_ref(
            "d-clinical",
            "Patient/p1",
            date="2023-01-01T10:00:00Z",
            context={"period": {"start": "garbage"}},
        ),
    ]
    path = tmp_path / "dates.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in entries) + "\n", encoding="utf-8")
    summary = run(session, path)

    p1, p2, p3, p4 = (client(session, f"Patient/p{i}") for i in range(1, 5))
    # The resource says the person died: deceased, without a date, and a warning.
    assert (p1.deceased, p1.deceased_date) == (True, None)
    assert (p2.deceased, p2.deceased_date) == (True, None)
    assert (p3.deceased, p3.deceased_date) == (True, None)
    assert (p4.deceased, p4.deceased_date) == (True, None)
    assert (p1.birth_date, p1.birth_date_partial) == (None, None)
    assert (p2.birth_date, p2.birth_date_partial) == (None, None)
    encounter = session.scalar(select(CareEpisode).where(CareEpisode.source_id == "Encounter/e1"))
    assert encounter is not None and (encounter.start_date, encounter.end_date) == (None, None)
    clinical = part(session, "DocumentReference/d-clinical")
    assert clinical.clinical_date is None

    assert [(p.where, p.reason) for p in summary.warnings] == [
        (f"{path}:1", "birthDate is not a valid date; not stored"),
        (f"{path}:1", "deceasedDateTime is not a valid date; stored as deceased without a date"),
        (f"{path}:2", "birthDate is not a valid date; not stored"),
        (f"{path}:2", "deceasedDateTime is not a valid date; stored as deceased without a date"),
        (f"{path}:3", "deceasedBoolean is not true or false; ignored"),
        (
            f"{path}:3",
            "deceasedDateTime has no day (only a year or month); stored as deceased without a date",
        ),
        (f"{path}:4", "deceasedDateTime is not a valid date; stored as deceased without a date"),
        (f"{path}:5", "Encounter.period.start is not a valid date; not stored"),
        (f"{path}:5", "Encounter.period.end is not a valid date; not stored"),
        (f"{path}:6", "EpisodeOfCare.period.start has no day (only a year or month); not stored"),
        (
            f"{path}:12",
            "DocumentReference.context.period.start is not a valid date; not stored",
        ),
    ]
    assert [(p.where, p.reason) for p in summary.rejected] == [
        (f"{path}:7", "DocumentReference.date is not a valid date"),
        (f"{path}:8", "DocumentReference.date is not a valid date"),
        (f"{path}:9", "Composition.date is not a valid date"),
        (f"{path}:10", "DiagnosticReport.issued is not a valid date"),
        (
            f"{path}:11",
            "no entry date: DocumentReference.date is missing and meta.lastUpdated "
            "is not a valid date",
        ),
    ]
    assert summary.created == {
        "Patient": 4,
        "Encounter": 1,
        "EpisodeOfCare": 1,
        "DocumentReference": 1,
    }
    text = all_reasons(summary)
    values = ("garbage", "1980-02-30", "19800101", "20150214", "1999", "25:00", "2014")
    values += ("2021-13-01", "2023-02-30", "1672567200", "yesterday", "yes")
    for value in values:
        assert value not in text, value


# --- JSON reasons ----------------------------------------------------------------------------


def test_broken_json_reasons_read_cleanly(session: Session, tmp_path: Path) -> None:
    unterminated = tmp_path / "unterminated.json"
    unterminated.write_text(
        '{\n  "resourceType": "Patient",\n  "id": "p1",\n  "name": [\n    {\n      "family": "Jans',
        encoding="utf-8",
    )
    control = tmp_path / "control.json"
    control.write_text('{"resourceType": "Patient", "id": "p\n1"}', encoding="utf-8")
    lines = tmp_path / "lines.ndjson"
    lines.write_text('{"a": 1 "b": 2}\n{"resourceType": "Patient", "id": "p2"}\n')
    summary = run(session, unterminated, control, lines)
    assert [(p.where, p.reason) for p in summary.rejected] == [
        (str(unterminated), "not valid JSON: unterminated string (line 6, column 17)"),
        (str(control), "not valid JSON: invalid control character (line 1, column 37)"),
        # The file:line says where; within one NDJSON line only the column is news.
        (f"{lines}:1", "not valid JSON: expecting ',' delimiter (column 9)"),
    ]
    assert " at " not in all_reasons(summary)
    assert summary.created == {"Patient": 1}


# --- real data: birthTime and linked records ----------------------------------------------


def test_newborn_birth_time_disagrees_with_birth_date(session: Session, realdata: Path) -> None:
    hl7 = realdata / "hl7-fhir-r4-examples"
    newborn = hl7 / "Patient-newborn.json"
    summary = run(session, newborn, hl7 / "Patient-example.json")
    # The element wins: birthDate as written (the birthTime has day and month swapped).
    assert client(session, "Patient/newborn").birth_date == date(2017, 9, 5)
    assert client(session, "Patient/example").birth_date == date(1974, 12, 25)  # they agree
    assert [(w.where, w.reason) for w in summary.warnings] == [
        (str(newborn), "birthDate and its birthTime extension disagree; kept birthDate")
    ]
    text = all_reasons(summary)
    assert "2017" not in text and "05/09" not in text and "1974" not in text


def test_birth_time_agreeing_with_a_partial_birth_date_is_fine(
    session: Session, tmp_path: Path
) -> None:
    def born(pid: str, birth: str, birth_time: str) -> dict[str, Any]:
        ext = {"url": fhir_import.BIRTH_TIME_URL, "valueDateTime": birth_time}
        return patient(pid, birthDate=birth, _birthDate={"extension": [ext]})

    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": born("same-year", "2017", "2017-05-09T17:11:00+01:00")},
            {"resource": born("other-month", "2017-09", "2017-05-09T17:11:00+01:00")},
            {"resource": born("bad-time", "2017-09-05", "17:11")},
        ],
    }
    path = write(tmp_path / "b.json", bundle)
    summary = run(session, path)
    assert client(session, "Patient/same-year").birth_date_partial == "2017"
    assert [(w.where, w.reason) for w in summary.warnings] == [
        (f"{path}#1", "birthDate and its birthTime extension disagree; kept birthDate"),
        (f"{path}#2", "the birthTime extension of birthDate is not a valid date; ignored"),
    ]


def test_linked_patients_are_two_clients_with_one_warning(session: Session, realdata: Path) -> None:
    hl7 = realdata / "hl7-fhir-r4-examples"
    pat1, pat2 = hl7 / "Patient-pat1.json", hl7 / "Patient-pat2.json"
    summary = run(session, pat1, pat2)
    assert summary.created == {"Patient": 2}
    # Each links to the other (seealso): one warning for the pair, naming both.
    assert [(w.where, w.reason) for w in summary.warnings] == [
        (
            str(pat1),
            "Patient/pat1 is linked to Patient/pat2 as the same person (seealso); "
            "imported as two clients",
        )
    ]
    alone = run(session, pat2)  # the other record on its own says it too, from its side
    assert [w.reason for w in alone.warnings] == [
        "Patient/pat2 is linked to Patient/pat1 as the same person (seealso); "
        "imported as two clients"
    ]


def test_link_shapes_in_a_bundle(session: Session, tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:new",
                "resource": patient(
                    "new",
                    link=[
                        {"other": {"reference": "urn:uuid:old"}, "type": "replaces"},
                        {"other": {"reference": "RelatedPerson/rp"}, "type": "seealso"},
                        {"other": {"reference": "Patient/new"}, "type": "seealso"},  # itself
                        {"other": {"display": "no reference"}, "type": "seealso"},
                        "not a link",
                    ],
                ),
            },
            {"fullUrl": "urn:uuid:old", "resource": patient("old")},
        ],
    }
    path = write(tmp_path / "b.json", bundle)
    summary = run(session, path)
    assert summary.rejected == []
    assert [(w.where, w.reason) for w in summary.warnings] == [
        (
            f"{path}#0",
            "Patient/new is linked to Patient/old as the same person (replaces); "
            "imported as two clients",
        )
    ]


def test_a_bsn_another_client_has_is_not_stored_twice(session: Session, tmp_path: Path) -> None:
    bsn_id = [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999990019"}]
    write(tmp_path / "a.json", patient("dup-a", identifier=bsn_id))
    run(session, tmp_path / "a.json")
    write(tmp_path / "b.json", patient("dup-b", identifier=bsn_id))
    write(tmp_path / "c.json", patient("dup-c", identifier=bsn_id))
    summary = run(session, tmp_path / "b.json", tmp_path / "c.json")
    assert client(session, "Patient/dup-a").bsn == "999990019"
    assert client(session, "Patient/dup-b").bsn is None
    assert client(session, "Patient/dup-c").bsn is None
    warned = [w for w in summary.warnings if "already belongs to client dup-a" in w.reason]
    assert len(warned) == 2
    assert "999990019" not in all_messages(summary)
    again = run(session, tmp_path / "a.json", tmp_path / "b.json")  # the owner keeps it
    assert client(session, "Patient/dup-a").bsn == "999990019"
    assert not again.rejected
