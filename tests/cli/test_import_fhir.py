"""`arkinctl import fhir`: exit codes, JSON on stdout, problems on stderr (both engines)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arkinctl.errors import ExitCode
from tests.services.test_fhir_import import unreadable_file

Cli = Callable[..., Any]


def test_synthea_bulk_import_and_rerun(cli: Cli, realdata: Path) -> None:
    bulk = realdata / "synthea-bulk-10patients"
    result = cli("import", "fhir", str(bulk), "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["created"] == {"DocumentReference": 1215, "Encounter": 1215, "Patient": 13}
    assert doc["rejected"] == []
    assert len(doc["warnings"]) == 3  # notes dated after the patient's death
    assert "after the client's death" in result.stderr  # warnings go to stderr too
    assert "Importing" not in result.stderr  # progress lines are for a terminal only

    again = cli("import", "fhir", str(bulk), "--format", "json")
    assert again.exit_code == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["created"] == {} and doc["updated"] == {}
    assert doc["unchanged"] == {"DocumentReference": 1215, "Encounter": 1215, "Patient": 13}


def test_bad_file_and_line_exit_10_and_the_rest_imports(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    lines = [
        json.dumps({"resourceType": "Patient", "id": "p1"}),
        '{"resourceType": "Patient", "id": "p2"',
        json.dumps(
            {
                "resourceType": "DocumentReference",
                "id": "d1",
                "subject": {"reference": "Patient/p1"},
                "date": "2023-05-01T09:00:00+02:00",
            }
        ),
    ]
    (tmp_path / "export.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = cli("import", "fhir", str(tmp_path), "--format", "json")
    assert result.exit_code == ExitCode.PARTIAL_FAILURE == 10
    doc = json.loads(result.stdout)
    assert [p["where"] for p in doc["rejected"]] == [
        str(tmp_path / "broken.json"),
        f"{tmp_path / 'export.ndjson'}:2",
    ]
    assert all(p["reason"].startswith("not valid JSON") for p in doc["rejected"])
    assert doc["created"] == {"DocumentReference": 1, "Patient": 1}

    table = cli("import", "fhir", str(tmp_path))
    assert table.exit_code == 10
    assert f"Error: {tmp_path / 'export.ndjson'}:2: not valid JSON" in table.stderr
    assert "unchanged" in table.stdout and "Traceback" not in table.stderr


def test_missing_path_exits_5_with_one_line(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "nope.ndjson"
    result = cli("import", "fhir", str(missing), "--format", "json")
    assert result.exit_code == ExitCode.INVALID_INPUT == 5
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: no such file or folder:") and str(missing) in lines[0]
    assert "Traceback" not in result.stderr


def test_invalid_bsn_warning_never_shows_the_number(cli: Cli, realdata: Path) -> None:
    path = realdata / "hl7-fhir-r4-examples" / "Patient-f001.json"
    result = cli("import", "fhir", str(path), "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["warnings"] == [{"where": str(path), "reason": "BSN fails the 11-proof; not stored"}]
    assert "738472983" not in result.stdout + result.stderr


def test_unreadable_file_is_a_rejected_file_not_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"resourceType": "Patient", "id": "good"}), encoding="utf-8")
    locked = unreadable_file(tmp_path / "locked.json")
    result = cli("import", "fhir", str(good), str(locked), "--format", "json")
    assert result.exit_code == ExitCode.PARTIAL_FAILURE, result.stderr
    assert "Usage:" not in result.stderr and "Invalid value" not in result.stderr
    doc = json.loads(result.stdout)
    assert doc["rejected"] == [{"where": str(locked), "reason": "cannot read: permission denied"}]
    assert doc["created"] == {"Patient": 1}

    table = cli("import", "fhir", str(locked))
    assert table.exit_code == 10
    assert f"Error: {locked}: cannot read: permission denied\n" in table.stderr
    assert "Usage:" not in table.stderr


def test_paths_are_not_checked_by_typer() -> None:
    # Root passes Typer's `readable` check (os.access) even where opening fails, so the test
    # above cannot catch its return when run as root: the parameter must stay plain text.
    import typer.main

    from arkinctl.cli import app

    group = typer.main.get_command(app).commands["import"]  # type: ignore[attr-defined]
    paths = next(p for p in group.commands["fhir"].params if p.name == "paths")
    assert not getattr(paths.type, "readable", False), paths.type
    assert not getattr(paths.type, "exists", False), paths.type


def test_missing_or_empty_path_exits_5_even_next_to_an_unreadable_one(
    cli: Cli, tmp_path: Path
) -> None:
    locked = unreadable_file(tmp_path / "locked.json")
    for args, message in (
        ((str(locked), str(tmp_path / "nope.json")), "Error: no such file or folder: "),
        ((str(locked), ""), "Error: an empty path was given"),
    ):
        result = cli("import", "fhir", *args)
        assert result.exit_code == ExitCode.INVALID_INPUT, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(message), lines
        assert str(locked) not in lines[0]


def test_null_file_is_reported_not_passed_over(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "null.json").write_text("null", encoding="utf-8")
    (tmp_path / "bundle.json").write_text(
        json.dumps({"resourceType": "Bundle", "type": "collection", "entry": "oops"}),
        encoding="utf-8",
    )
    result = cli("import", "fhir", str(tmp_path), "--format", "json")
    assert result.exit_code == 10
    assert json.loads(result.stdout)["rejected"] == [
        {
            "where": str(tmp_path / "bundle.json"),
            "reason": "Bundle.entry is not a list; nothing in this Bundle imported",
        },
        {
            "where": str(tmp_path / "null.json"),
            "reason": "not a FHIR resource or Bundle: the JSON is null",
        },
    ]


def test_unreadable_death_date_is_deceased_with_a_warning(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps({"resourceType": "Patient", "id": "p1", "deceasedDateTime": "garbage"}),
        encoding="utf-8",
    )
    result = cli("import", "fhir", str(path), "--format", "json")
    assert result.exit_code == 0, result.stderr
    reason = "deceasedDateTime is not a valid date; stored as deceased without a date"
    assert json.loads(result.stdout)["warnings"] == [{"where": str(path), "reason": reason}]
    assert reason in result.stderr
    # The value is never shown (the file name is the only place it may not be looked for).
    assert "garbage" not in (result.stdout + result.stderr).replace(str(path), "")
    shown = cli("client", "show", "p1", "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    assert '"deceased": true' in shown.stdout


def test_unterminated_string_reason_reads_cleanly(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(
        '{\n  "resourceType": "Patient",\n  "id": "p1",\n  "name": [\n    {\n      "family": "Jans',
        encoding="utf-8",
    )
    result = cli("import", "fhir", str(path))
    assert result.exit_code == 10
    assert (
        f"Error: {path}: not valid JSON: unterminated string (line 6, column 17)\n" in result.stderr
    )
    assert "at at" not in result.stderr


def test_real_newborn_and_linked_patients_warn(cli: Cli, realdata: Path) -> None:
    hl7 = realdata / "hl7-fhir-r4-examples"
    paths = [
        hl7 / name for name in ("Patient-newborn.json", "Patient-pat1.json", "Patient-pat2.json")
    ]
    result = cli("import", "fhir", *map(str, paths), "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["created"] == {"Patient": 3}
    assert doc["warnings"] == [
        {
            "where": str(paths[0]),
            "reason": "birthDate and its birthTime extension disagree; kept birthDate",
        },
        {
            "where": str(paths[1]),
            "reason": "Patient/pat1 is linked to Patient/pat2 as the same person (seealso); "
            "imported as two clients",
        },
    ]
    shown = (result.stdout + result.stderr).replace(str(hl7), "")
    assert "2017" not in shown and "05/09" not in shown
