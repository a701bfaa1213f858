"""`arkinctl import fhir`: exit codes, JSON on stdout, problems on stderr (both engines)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from arkinctl.errors import ExitCode

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
