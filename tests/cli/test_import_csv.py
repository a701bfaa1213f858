"""`arkinctl import clients|accounts` end to end through the CLI (CliRunner)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

CLIENTS = (
    "client_number;bsn;voornaam;achternaam;geboortedatum;in zorg sinds\n"
    "C1;111222333;Test;Testpersoon;04-03-1985;01-02-2023\n"  # 2
    "C2;123456789;Fout;Bsn;04-03-1985;\n"  # 3 invalid BSN
    "C3;;Fout;Datum;31-02-1985;\n"  # 4 no such date
    ";999911120;Geen;Nummer;01-01-1990;\n"  # 5 no client number
    "C5;123456782;Schrikkel;Dag;29-02-2000;\n"  # 6 ok, leap day
)

Cli = Callable[..., Any]


def _write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_bad_rows_reported_with_lines_good_rows_in_exit_10(cli: Cli, tmp_path: Path) -> None:
    path = _write(tmp_path, "clients.csv", CLIENTS)
    result = cli("import", "clients", str(path), "--format", "json")
    assert result.exit_code == 10, result.stderr
    doc = json.loads(result.stdout)
    assert doc["source"] == "clients.csv"
    assert doc["created"] == {"care_episode": 1, "client": 2}
    assert [r["where"] for r in doc["rejected"]] == [
        "clients.csv:3",
        "clients.csv:4",
        "clients.csv:5",
    ]
    assert "Traceback" not in result.stderr
    for secret in ("123456789", "31-02-1985"):
        assert secret not in result.stdout and secret not in result.stderr


def test_table_output_names_the_lines_on_stderr(cli: Cli, tmp_path: Path) -> None:
    path = _write(tmp_path, "clients.csv", CLIENTS)
    result = cli("import", "clients", str(path))
    assert result.exit_code == 10
    assert "clients.csv:3: bsn:" in result.stderr
    assert "clients.csv:4: geboortedatum:" in result.stderr
    assert "Import of clients.csv" in result.stdout


def test_rerun_changes_nothing_then_a_changed_row_updates(cli: Cli, tmp_path: Path) -> None:
    good = "client_number,given_name,date_of_birth\nC1,Test,1985-03-04\nC2,Proef,29-02-2000\n"
    path = _write(tmp_path, "clients.csv", good)
    assert cli("import", "clients", str(path)).exit_code == 0

    again = cli("import", "clients", str(path), "--format", "json")
    assert again.exit_code == 0
    doc = json.loads(again.stdout)
    assert doc["created"] == {} and doc["updated"] == {}
    assert doc["unchanged"] == {"client": 2}

    _write(tmp_path, "clients.csv", good.replace("C2,Proef", "C2,Anders"))
    changed = json.loads(cli("import", "clients", str(path), "--format", "json").stdout)
    assert changed["updated"] == {"client": 1} and changed["unchanged"] == {"client": 1}


def test_dutch_excel_file_from_stdin(cli: Cli) -> None:
    data = (
        "\ufeffCliëntnummer;BSN;Voornaam;Tussenvoegsel;Achternaam;Geboortedatum;Delen\r\n"
        "1001;111.222.333;Zoë;van;Proef;04-03-1985;aan\r\n"
        "1002;;Jan;;Test;29-02-2001;uit\r\n"
        "\r\n"
    ).encode()
    result = cli("import", "clients", "-", "--format", "json", input=data)
    assert result.exit_code == 10
    doc = json.loads(result.stdout)
    assert doc["source"] == "<stdin>"
    assert doc["created"] == {"client": 1}
    assert doc["rejected"] == [
        {
            "where": "<stdin>:3",
            "reason": "Geboortedatum: the date does not exist (check the day and month)",
        }
    ]


def test_windows_1252_file_is_noted(cli: Cli, tmp_path: Path) -> None:
    path = _write(tmp_path, "oud.csv", "client_number;voornaam\r\nW1;Hélène\r\n".encode("cp1252"))
    doc = json.loads(cli("import", "clients", str(path), "--format", "json").stdout)
    assert doc["created"] == {"client": 1}
    assert any("not UTF-8" in note for note in doc["notes"])


def test_missing_file_exits_5_with_one_line(cli: Cli, tmp_path: Path) -> None:
    result = cli("import", "clients", str(tmp_path / "nope.csv"))
    assert result.exit_code == 5
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("Error: no such file")
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_column_exits_5_naming_it(cli: Cli, tmp_path: Path) -> None:
    path = _write(tmp_path, "x.csv", "nummer;voornaam\n1;Jan\n")
    result = cli("import", "clients", str(path))
    assert result.exit_code == 5
    assert "client_number" in result.stderr and "cliëntnummer" in result.stderr


def test_empty_file_exits_5(cli: Cli, tmp_path: Path) -> None:
    result = cli("import", "accounts", str(_write(tmp_path, "leeg.csv", b"")))
    assert result.exit_code == 5
    assert "empty" in result.stderr


def test_unlinked_account_kept_and_reported(cli: Cli, tmp_path: Path) -> None:
    clients = _write(tmp_path, "c.csv", "client_number\nC1\n")
    assert cli("import", "clients", str(clients)).exit_code == 0
    members = _write(
        tmp_path,
        "members.csv",
        "account_id,identification_number,status,date_of_birth,last_login_at\n"
        "A1,C1,active,04-03-1985,2024-01-02T10:00:00+01:00\n"
        "A2,C999,invited,,\n",
    )
    result = cli("import", "accounts", str(members), "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["created"] == {"account": 2}
    assert [w["where"] for w in doc["warnings"]] == ["members.csv:3"]
    assert "A2" in doc["warnings"][0]["reason"]
    assert any("1 account(s) not linked" in note for note in doc["notes"])
    assert "members.csv:3" in result.stderr  # warnings also on stderr

    again = json.loads(cli("import", "accounts", str(members), "--format", "json").stdout)
    assert again["unchanged"] == {"account": 2}


# ---- regressions --------------------------------------------------------------------------


def test_unsupported_delimiter_exits_5_saying_what_the_header_holds(
    cli: Cli, tmp_path: Path
) -> None:
    path = _write(tmp_path, "pipe.csv", "client_number|bsn|given_name\n1|111222333|Jan\n")
    result = cli("import", "clients", str(path))
    assert result.exit_code == 5
    assert result.stderr.startswith(
        "Error: the header line (line 1) has 1 column, none of them known; expected a ',' "
        "or ';' separated header with client_number (cliëntnummer, clientnr, client_id)"
    )
    assert "sep=|" in result.stderr and "no client_number column" not in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_excel_sep_line_from_stdin(cli: Cli) -> None:
    data = "sep=;\r\nCliëntnummer;Voornaam\r\n1001;Zoë\r\n1002\r\n".encode()
    result = cli("import", "clients", "-", "--format", "json", input=data)
    assert result.exit_code == 10
    doc = json.loads(result.stdout)
    assert doc["created"] == {"client": 1}
    assert doc["rejected"] == [
        {
            "where": "<stdin>:4",
            "reason": "the row has 1 field but the header has 2; are the ';' separators missing?",
        }
    ]


def test_huge_field_and_unclosed_quote_lose_only_their_rows(cli: Cli, tmp_path: Path) -> None:
    data = (
        "client_number;given_name\n"
        f"H1;{'x' * 200_000}\n"  # 2
        "H2;Piet\n"  # 3
        'H3;"unterminated quote\n'  # 4
        "H4;ok\n"  # 5
        'H5;"open at the end\n'  # 6
    )
    result = cli("import", "clients", str(_write(tmp_path, "c.csv", data)), "--format", "json")
    assert result.exit_code == 10, result.stderr
    doc = json.loads(result.stdout)
    assert doc["created"] == {"client": 2}
    assert [r["where"] for r in doc["rejected"]] == ["c.csv:2", "c.csv:4", "c.csv:6"]
    assert doc["rejected"][0]["reason"].startswith("a field is longer than 32767 characters")
    assert all(r["reason"].startswith("unclosed quote") for r in doc["rejected"][1:])
    assert doc["notes"] == []


def test_unreadable_portal_dob_keeps_the_account_and_diagnose_says_dob_missing(
    cli: Cli, tmp_path: Path
) -> None:
    clients = "client_number;date_of_birth;treated_since\nC1;04-03-1985;01-02-2023\n"
    assert cli("import", "clients", str(_write(tmp_path, "c.csv", clients))).exit_code == 0
    members = _write(
        tmp_path,
        "members.csv",
        "account_id;identification_number;status;date_of_birth;email\n"
        "A1;C1;active;31-02-1990;kees@example\n",
    )
    result = cli("import", "accounts", str(members), "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["created"] == {"account": 1} and doc["rejected"] == []
    reasons = [w["reason"] for w in doc["warnings"]]
    assert "date_of_birth is not a readable date; stored as missing" in reasons
    assert any(r.startswith("email is not a valid e-mail address") for r in reasons)
    for secret in ("31-02-1990", "kees@example"):
        assert secret not in result.stdout and secret not in result.stderr

    diagnosis = cli("--format", "json", "diagnose", "C1")
    assert diagnosis.exit_code == 20, diagnosis.stderr
    assert json.loads(diagnosis.stdout)["cause"] == "dob_missing"


def test_same_bsn_for_two_clients_exits_10_naming_the_client_not_the_bsn(
    cli: Cli, tmp_path: Path
) -> None:
    data = "client_number;bsn\nB1;111222333\nB2;111222333\n"
    result = cli("import", "clients", str(_write(tmp_path, "c.csv", data)), "--format", "json")
    assert result.exit_code == 10
    doc = json.loads(result.stdout)
    assert doc["rejected"] == [
        {"where": "c.csv:3", "reason": "the BSN already belongs to client B1 (line 2)"}
    ]
    assert "111222333" not in result.stdout and "111222333" not in result.stderr
