"""`import_clients` / `import_accounts` against SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arkinctl.config import Settings
from arkinctl.db.models import AuditEvent, CareEpisode, Client, PortalAccount
from arkinctl.services import csv_import
from arkinctl.services.audit import Actor
from arkinctl.services.csv_import import import_accounts, import_clients
from arkinctl.services.importing import ImportSummary

ACTOR = Actor(username="tester", role="admin", host=None, command="test")
SETTINGS = Settings(database_url="sqlite://", database_is_default=False, user="tester")

# Obviously fake people; the BSNs are the well-known test numbers (11-proof).
GOOD = """client_number,bsn,given_name,name_prefix,family_name,date_of_birth,email,treated_since
C1,111222333,Test,van der,Testpersoon,04-03-1985,c1@example.com,01-02-2023
C2,999.911.120,Proef,,Persoon,2000-02-29,,
"""


def _clients(session: Session, data: str | bytes, source: str = "clients.csv") -> ImportSummary:
    raw = data.encode() if isinstance(data, str) else data
    summary = import_clients(session, raw, source=source, settings=SETTINGS, actor=ACTOR)
    session.commit()
    return summary


def _accounts(session: Session, data: str | bytes, source: str = "members.csv") -> ImportSummary:
    raw = data.encode() if isinstance(data, str) else data
    summary = import_accounts(session, raw, source=source, settings=SETTINGS, actor=ACTOR)
    session.commit()
    return summary


def _client(session: Session, number: str) -> Client:
    client = session.scalar(select(Client).where(Client.client_number == number))
    assert client is not None
    session.refresh(client)
    return client


def _count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_creates_clients_with_compact_bsn_and_episode(session: Session) -> None:
    summary = _clients(session, GOOD)
    assert summary.created == {"client": 2, "care_episode": 1}
    assert not summary.rejected and not summary.failed
    c1, c2 = _client(session, "C1"), _client(session, "C2")
    assert (c1.bsn, c1.given_name, c1.name_prefix, c1.family_name) == (
        "111222333",
        "Test",
        "van der",
        "Testpersoon",
    )
    assert c1.birth_date == date(1985, 3, 4)
    assert c1.sharing_enabled is True and c1.deceased is False
    assert (c1.source_system, c1.source_id) == ("csv", "clients:C1")
    assert c2.bsn == "999911120" and c2.birth_date == date(2000, 2, 29)  # leap day
    episode = session.scalar(select(CareEpisode).where(CareEpisode.client_id == c1.id))
    assert episode is not None
    assert (episode.kind, episode.start_date, episode.source_id) == (
        "record",
        date(2023, 2, 1),
        "clients:C1",
    )


def test_bad_rows_are_rejected_by_line_and_good_rows_kept(session: Session) -> None:
    data = (
        "client_number;bsn;date_of_birth;email\n"
        "C1;111222333;04-03-1985;c1@example.com\n"  # 2 ok
        "C2;123456789;04-03-1985;\n"  # 3 BSN fails the 11-proof
        "C3;;31-31-1985;\n"  # 4 no such date
        ";555555550;04-03-1985;\n"  # 5 no client number
        "C5;;29-02-2001;\n"  # 6 not a leap year
        "C6;;01-01-1990;no-at-sign.example.com\n"  # 7 not an e-mail address
        "C7;123456782;29-02-2000;c7@example.com\n"  # 8 ok
        "C1;;;\n"  # 9 duplicate
    )
    summary = _clients(session, data)
    assert summary.created == {"client": 2}
    assert summary.failed
    reasons = {p.where: p.reason for p in summary.rejected}
    assert list(reasons) == [f"clients.csv:{n}" for n in (3, 4, 5, 6, 7, 9)]
    assert reasons["clients.csv:3"].startswith("bsn:")
    assert reasons["clients.csv:4"].startswith("date_of_birth:")
    assert "client_number" in reasons["clients.csv:5"]
    assert reasons["clients.csv:6"].startswith("date_of_birth: the date does not exist")
    assert reasons["clients.csv:7"].startswith("email:")
    assert "line 2" in reasons["clients.csv:9"]
    for reason in reasons.values():  # privacy: the values never show up
        for secret in ("123456789", "31-31-1985", "29-02-2001", "no-at-sign"):
            assert secret not in reason
    assert _client(session, "C7").birth_date == date(2000, 2, 29)
    assert _count(session, Client) == 2


def test_reimport_changes_nothing_and_a_changed_row_updates(session: Session) -> None:
    _clients(session, GOOD)
    before = _client(session, "C1").updated_at

    again = _clients(session, GOOD)
    assert again.created == {} and again.updated == {}
    assert again.unchanged == {"client": 2, "care_episode": 1}
    assert _client(session, "C1").updated_at == before
    assert _count(session, Client) == 2 and _count(session, CareEpisode) == 1

    changed = GOOD.replace("c1@example.com,01-02-2023", "nieuw@example.com,01-03-2023")
    summary = _clients(session, changed)
    assert summary.updated == {"client": 1, "care_episode": 1}
    assert summary.unchanged == {"client": 1}
    assert _client(session, "C1").email == "nieuw@example.com"
    assert _count(session, CareEpisode) == 1


def test_empty_cell_clears_absent_column_leaves_alone(session: Session) -> None:
    _clients(session, GOOD)
    # No bsn/name columns: those stay; e-mail present but empty: cleared.
    summary = _clients(session, "client_number;email\nC1;\n")
    assert summary.updated == {"client": 1}
    c1 = _client(session, "C1")
    assert c1.email is None
    assert c1.bsn == "111222333" and c1.family_name == "Testpersoon"


def test_empty_treated_since_keeps_the_episode(session: Session) -> None:
    _clients(session, GOOD)
    summary = _clients(session, "client_number;treated_since\nC1;\n")
    assert summary.unchanged == {"client": 1}
    assert _count(session, CareEpisode) == 1


def test_sharing_values_and_who_changed_it(session: Session) -> None:
    data = "client_number;sharing\nS1;uit\nS2;JA\nS3;\nS4;0\nS5;misschien\n"
    summary = _clients(session, data)
    assert summary.created == {"client": 4}
    assert [p.where for p in summary.rejected] == ["clients.csv:6"]
    assert summary.rejected[0].reason.startswith("sharing:")
    s1 = _client(session, "S1")
    assert s1.sharing_enabled is False and s1.sharing_changed_by == "tester"
    assert s1.sharing_reason == "import of clients.csv"
    assert _client(session, "S2").sharing_enabled is True
    assert _client(session, "S3").sharing_enabled is True  # default on
    assert _client(session, "S4").sharing_enabled is False

    summary = _clients(session, "client_number;sharing\nS1;on\nS2;\n")
    assert summary.updated == {"client": 1} and summary.unchanged == {"client": 1}
    assert _client(session, "S1").sharing_enabled is True


def test_deceased_date_marks_deceased_and_an_empty_cell_never_revives(session: Session) -> None:
    _clients(session, "client_number;overlijdensdatum\nD1;12-06-2023\n")
    d1 = _client(session, "D1")
    assert d1.deceased is True and d1.deceased_date == date(2023, 6, 12)
    summary = _clients(session, "client_number;overlijdensdatum\nD1;\n")
    assert _client(session, "D1").deceased is True
    assert summary.unchanged == {"client": 1}
    assert [w.where for w in summary.warnings] == ["clients.csv:2"]


def test_dutch_excel_file_with_bom_crlf_semicolons(session: Session) -> None:
    text = (
        "Cliëntnummer;BSN;Voornaam;Tussenvoegsel;Achternaam;Geboortedatum;E-mail;"
        "Telefoon;In zorg sinds;Delen;Afdeling\r\n"
        "1001;111 222 333;Zoë;de;Proef;04-03-1985;zoe@example.com;06-12345678;"
        "15-01-2022;ja;Noord\r\n"
        '1002;;"Jan\r\nPiet";;Test;4 maart 1985;;;;nee;Zuid\r\n'
        "\r\n"
    )
    summary = _clients(session, "\ufeff".encode() + text.encode())
    assert summary.created == {"client": 2, "care_episode": 1}
    assert not summary.rejected
    assert summary.notes == ["ignored unknown columns: Afdeling"]
    zoe = _client(session, "1001")
    assert (zoe.given_name, zoe.bsn, zoe.phone) == ("Zoë", "111222333", "06-12345678")
    assert zoe.birth_date == date(1985, 3, 4)
    jan = _client(session, "1002")
    assert jan.given_name == "Jan Piet"  # a quoted newline in a name becomes a space
    assert jan.birth_date == date(1985, 3, 4) and jan.sharing_enabled is False


def test_windows_1252_file_is_read_and_noted(session: Session) -> None:
    summary = _clients(session, "client_number;voornaam\r\nW1;René\r\n".encode("cp1252"))
    assert _client(session, "W1").given_name == "René"
    assert any("not UTF-8" in n for n in summary.notes)


def test_one_audit_event_per_import(session: Session) -> None:
    _clients(session, GOOD, source="export.csv")
    events = session.scalars(select(AuditEvent)).all()
    assert [(e.action, e.action_code, e.object_type, e.object_id) for e in events] == [
        ("import.clients", "C", "import", "export.csv")
    ]


def test_the_import_is_one_unit_of_work(session_factory: Any) -> None:
    """Savepoints must not commit on their own (pysqlite would, without care)."""
    with session_factory() as s:
        import_clients(s, GOOD.encode(), source="x.csv", settings=SETTINGS, actor=ACTOR)
        s.rollback()
    with session_factory() as s:
        assert _count(s, Client) == 0 and _count(s, AuditEvent) == 0


def test_a_row_the_database_refuses_loses_only_that_row(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clients(session, "client_number\nC2\n")
    real = csv_import._prefetch_clients

    def blind_to_c2(s: Session, rows: list[Any]) -> Any:
        # As if someone else inserted C2 between our read and our write.
        ctx = real(s, rows)
        ctx.clients.pop("C2", None)
        return ctx

    monkeypatch.setattr(csv_import, "_prefetch_clients", blind_to_c2)
    summary = _clients(session, "client_number;given_name\nC1;Een\nC2;Twee\nC3;Drie\n")
    assert summary.created == {"client": 2}
    assert [p.where for p in summary.rejected] == ["clients.csv:3"]
    assert summary.rejected[0].reason.startswith("the database refused the row")
    assert _count(session, Client) == 3


def test_chunks_larger_than_one_savepoint(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_import, "CHUNK_SIZE", 3)
    rows = "".join(f"K{i};{'01-01-1990' if i != 5 else 'gisteren'}\n" for i in range(10))
    summary = _clients(session, "client_number;geboortedatum\n" + rows)
    assert summary.created == {"client": 9}
    assert [p.where for p in summary.rejected] == ["clients.csv:7"]


# ---- accounts ---------------------------------------------------------------------------

ACCOUNTS = """account_id;identificatienummer;voornaam;achternaam;email;geboortedatum;status;created_at;last_login_at
A1;C1;Test;Testpersoon;c1@example.com;04-03-1985;actief;2023-01-05T09:00:00Z;01-05-2023 10:00
A2;C404;Niemand;Onbekend;;03-04-2085;uitgenodigd;;
"""  # noqa: E501


def test_accounts_link_by_identification_number_and_unlinked_are_kept(
    session: Session,
) -> None:
    _clients(session, GOOD)
    summary = _accounts(session, ACCOUNTS)
    assert summary.created == {"account": 2} and not summary.failed
    assert [(w.where, "A2" in w.reason) for w in summary.warnings] == [("members.csv:3", True)]
    assert any(n.startswith("1 account(s) not linked") for n in summary.notes)

    a1 = session.scalar(select(PortalAccount).where(PortalAccount.account_id == "A1"))
    assert a1 is not None
    assert (a1.identification_number, a1.status, a1.birth_date) == (
        "C1",
        "active",
        date(1985, 3, 4),
    )
    assert a1.created_at == datetime(2023, 1, 5, 9, 0, tzinfo=UTC)
    assert a1.last_login_at == datetime(2023, 5, 1, 8, 0, tzinfo=UTC)  # CEST → UTC
    a2 = session.scalar(select(PortalAccount).where(PortalAccount.account_id == "A2"))
    assert a2 is not None
    # The portal DOB is kept as typed, even a century off: diagnose explains it.
    assert a2.status == "invited" and a2.birth_date == date(2085, 4, 3)

    events = session.scalars(select(AuditEvent.action)).all()
    assert events.count("import.accounts") == 1


def test_accounts_reimport_unchanged_then_status_change_updates(session: Session) -> None:
    _accounts(session, ACCOUNTS)
    again = _accounts(session, ACCOUNTS)
    assert again.unchanged == {"account": 2} and again.created == {} and again.updated == {}
    blocked = _accounts(session, ACCOUNTS.replace("actief", "Geblokkeerd"))
    assert blocked.updated == {"account": 1} and blocked.unchanged == {"account": 1}
    assert _count(session, PortalAccount) == 2


def test_unlinked_account_links_once_the_client_arrives(session: Session) -> None:
    first = _accounts(session, ACCOUNTS)
    assert len(first.warnings) == 2
    _clients(session, "client_number\nC1\nC404\n")
    assert _accounts(session, ACCOUNTS).warnings == []


def test_bad_account_rows(session: Session) -> None:
    data = (
        "account_id,identification_number,status,last_login_at,date_of_birth\n"
        "A1,C1,active,,\n"
        "A2,C2,weg,,\n"
        ",C3,active,,\n"
        "A4,C4,,,\n"
        "A5,C5,active,gisteravond,\n"
        "A6,C6,active,,29-02-2001\n"
    )
    summary = _accounts(session, data)
    assert summary.created == {"account": 2}  # A6: an unreadable DOB keeps the account
    reasons = {p.where: p.reason for p in summary.rejected}
    assert list(reasons) == [f"members.csv:{n}" for n in (3, 4, 5, 6)]
    assert reasons["members.csv:3"].startswith("status:")
    assert reasons["members.csv:4"] == "account_id is empty"
    assert reasons["members.csv:5"] == "status is empty"
    assert reasons["members.csv:6"].startswith("last_login_at:")
    assert [(w.where, w.reason) for w in summary.warnings if "date" in w.reason] == [
        ("members.csv:7", "date_of_birth is not a readable date; stored as missing")
    ]


# ---- regressions: rows the reader cannot use ---------------------------------------------

FIVE = "client_number,bsn,given_name,family_name,email\n"


def test_short_row_leaves_the_missing_fields_alone(session: Session) -> None:
    _clients(session, FIVE + "2000001,111222333,Kees,Jansen,kees@example.com\n")
    summary = _clients(session, FIVE + "2000001,,Cees\n2000002,,Piet,,\n")
    assert summary.rejected == []
    assert summary.updated == {"client": 1} and summary.created == {"client": 1}
    assert any("fewer cells than the header" in n for n in summary.notes)
    kees = _client(session, "2000001")
    # bsn was given (empty: cleared), given_name changed, the cells not given are untouched
    assert (kees.bsn, kees.given_name, kees.family_name, kees.email) == (
        None,
        "Cees",
        "Jansen",
        "kees@example.com",
    )


def test_a_huge_field_rejects_its_row_and_the_rest_is_imported(session: Session) -> None:
    huge = "x" * 200_000
    summary = _clients(session, f"client_number;given_name\nH1;{huge}\nH2;Piet\nH3;Kees\n")
    assert [(p.where, p.reason) for p in summary.rejected] == [
        ("clients.csv:2", "a field is longer than 32767 characters (the most Excel allows)")
    ]
    assert summary.created == {"client": 2}
    assert "the file has a header but no rows" not in summary.notes
    assert _count(session, Client) == 2


def test_a_file_whose_only_row_is_bad_does_not_say_it_has_no_rows(session: Session) -> None:
    summary = _clients(session, f"client_number;given_name\nH1;{'x' * 200_000}\n")
    assert [p.where for p in summary.rejected] == ["clients.csv:2"]
    assert summary.notes == []
    assert _clients(session, "client_number;given_name\n\n").notes == [
        "the file has a header but no rows"
    ]


def test_unclosed_quote_rejects_its_row_and_the_next_rows_are_imported(session: Session) -> None:
    data = 'client_number;given_name\n4000006;"unterminated quote\n4000007;ok\n4000008;"Kees"\n'
    summary = _clients(session, data)
    assert [p.where for p in summary.rejected] == ["clients.csv:2"]
    assert summary.rejected[0].reason.startswith("unclosed quote")
    assert summary.created == {"client": 2}
    assert _client(session, "4000007").given_name == "ok"
    assert _client(session, "4000008").given_name == "Kees"


def test_unclosed_quote_at_the_end_of_the_file_is_reported(session: Session) -> None:
    summary = _clients(session, 'client_number;given_name\nE1;Jan\nE2;"Piet\n')
    assert [p.where for p in summary.rejected] == ["clients.csv:3"]
    assert summary.rejected[0].reason.startswith("unclosed quote")
    assert summary.created == {"client": 1} and summary.failed


# ---- regressions: keys, BSN, e-mail, dates -----------------------------------------------


def test_a_bsn_given_twice_in_one_file_rejects_the_later_row(session: Session) -> None:
    data = (
        "client_number;bsn\n"
        "B1;111222333\n"
        "B2;111.222.333\n"  # the same BSN, written differently
        "B3;\n"
    )
    summary = _clients(session, data)
    assert [(p.where, p.reason) for p in summary.rejected] == [
        ("clients.csv:3", "the BSN already belongs to client B1 (line 2)")
    ]
    assert summary.created == {"client": 2}
    assert _client(session, "B1").bsn == "111222333"


def test_a_bsn_another_client_has_in_the_database_is_rejected(session: Session) -> None:
    _clients(session, "client_number;bsn\nB1;111222333\n")
    summary = _clients(session, "client_number;bsn\nB2;111222333\nB3;999911120\n")
    assert [(p.where, p.reason) for p in summary.rejected] == [
        ("clients.csv:2", "the BSN already belongs to client B1")
    ]
    assert summary.created == {"client": 1}
    assert session.scalar(select(Client).where(Client.client_number == "B2")) is None
    # Its own BSN again: no conflict; moving a BSN within one file works in file order.
    again = _clients(session, "client_number;bsn\nB1;123456782\nB2;111222333\n")
    assert not again.rejected
    assert _client(session, "B1").bsn == "123456782" and _client(session, "B2").bsn == "111222333"


def test_a_client_already_sharing_its_bsn_can_be_updated_with_a_warning(session: Session) -> None:
    _clients(session, "client_number;bsn\nB1;111222333\nB2;\n")
    b2 = _client(session, "B2")
    b2.bsn = "111222333"  # older data, from before the check
    session.commit()
    summary = _clients(session, "client_number;bsn;given_name\nB2;111222333;Jan\n")
    assert not summary.rejected and summary.updated == {"client": 1}
    assert [w.reason for w in summary.warnings] == [
        "the BSN also belongs to client B1; a BSN identifies one person: correct it in the "
        "care record"
    ]


def test_bsn_messages_never_contain_the_bsn(session: Session) -> None:
    _clients(session, "client_number;bsn\nB1;111222333\n")
    summary = _clients(session, "client_number;bsn\nB2;111222333\nB3;123456782\nB4;123456782\n")
    assert len(summary.rejected) == 2
    for p in summary.rejected:
        assert "111222333" not in p.reason and "123456782" not in p.reason


def test_a_client_number_twice_rejects_the_later_rows_even_if_the_first_was_bad(
    session: Session,
) -> None:
    data = (
        "client_number;date_of_birth;given_name\n"
        "K1;31-02-1990;Eerste\n"  # 2 rejected: no such date
        "K1;04-03-1985;Tweede\n"  # 3 rejected: K1 already on line 2
        "K2;31-04-1985\n"  # 4 rejected: no such date (the missing cell is not given)
        "K2;04-03-1985;Tweede\n"  # 5 rejected: K2 already on line 4
        " K3 ;;\n"  # 6 ok
        "K3;;\n"  # 7 rejected: the same number once spaces are dropped
    )
    summary = _clients(session, data)
    reasons = {p.where: p.reason for p in summary.rejected}
    assert list(reasons) == [f"clients.csv:{n}" for n in (2, 3, 4, 5, 7)]
    assert reasons["clients.csv:3"].startswith("client number K1 is also on line 2")
    assert reasons["clients.csv:5"].startswith("client number K2 is also on line 4")
    assert reasons["clients.csv:7"].startswith("client number K3 is also on line 6")
    assert summary.created == {"client": 1}
    assert session.scalar(select(Client).where(Client.client_number == "K1")) is None


def test_an_account_twice_rejects_the_later_rows_even_if_the_first_was_bad(
    session: Session,
) -> None:
    data = (
        "account_id;identification_number;status\n"
        "A1;C1;weg\n"  # 2 rejected: unknown status
        "A1;C1;active\n"  # 3 rejected: A1 already on line 2
        "A2;C2;active\n"  # 4 ok
        "A2;C2;blocked\n"  # 5 rejected
    )
    summary = _accounts(session, data)
    reasons = {p.where: p.reason for p in summary.rejected}
    assert list(reasons) == [f"members.csv:{n}" for n in (2, 3, 5)]
    assert reasons["members.csv:3"].startswith("account A1 is also on line 2")
    assert summary.created == {"account": 1}
    assert session.scalar(select(PortalAccount).where(PortalAccount.account_id == "A1")) is None
    a2 = session.scalar(select(PortalAccount).where(PortalAccount.account_id == "A2"))
    assert a2 is not None and a2.status == "active"


@pytest.mark.parametrize(
    "address",
    ["kees@example", "x" * 300 + "@example.com", "a@@example.com", "kees@example..com", "jan"],
)
def test_an_invalid_client_email_rejects_the_row_naming_the_column(
    session: Session, address: str
) -> None:
    summary = _clients(session, f"client_number;e-mail\nM1;{address}\nM2;m2@example.com\n")
    assert [p.where for p in summary.rejected] == ["clients.csv:2"]
    reason = summary.rejected[0].reason
    assert reason.startswith("e-mail: not a valid e-mail address")
    assert address not in reason and "example" not in reason
    assert summary.created == {"client": 1}


def test_client_email_is_stored_normalised(session: Session) -> None:
    _clients(session, "client_number;email\nM1;Jan.Jansen+portal@Example.NL\n")
    assert _client(session, "M1").email == "Jan.Jansen+portal@example.nl"
    again = _clients(session, "client_number;email\nM1;Jan.Jansen+portal@example.nl\n")
    assert again.unchanged == {"client": 1}


def test_an_invalid_portal_email_keeps_the_account_stored_as_given(session: Session) -> None:
    data = (
        "account_id;identification_number;status;email\n"
        "A1;C1;active;kees@example\n"
        "A2;C2;active;Jan.Jansen+portal@Example.NL\n"
        f"A3;C3;active;{'x' * 400}@example.com\n"
    )
    summary = _accounts(session, data)
    assert summary.created == {"account": 3} and not summary.rejected
    mail = [
        (w.where, w.reason) for w in summary.warnings if "e-mail" in w.reason or "email" in w.reason
    ]
    assert mail == [
        (
            "members.csv:2",
            "email is not a valid e-mail address (the part after the @-sign is not valid. "
            "It should have a period); stored as given",
        ),
        ("members.csv:4", "email is longer than 320 characters; stored as missing"),
    ]
    rows = session.execute(select(PortalAccount.account_id, PortalAccount.email)).all()
    stored = {account_id: email for account_id, email in rows}
    assert stored == {"A1": "kees@example", "A2": "Jan.Jansen+portal@example.nl", "A3": None}


@pytest.mark.parametrize("dob", ["31-02-1990", "04-03-85", "tomorrow", "04-03-1985 13:30"])
def test_an_unreadable_portal_dob_keeps_the_account_and_stores_it_missing(
    session: Session, dob: str
) -> None:
    data = "account_id;identification_number;status;date_of_birth\nA1;C1;active;04-03-1985\n"
    _accounts(session, data)
    summary = _accounts(session, data.replace("04-03-1985", dob))
    assert not summary.rejected and summary.updated == {"account": 1}
    assert [(w.where, w.reason) for w in summary.warnings if "date" in w.reason] == [
        ("members.csv:2", "date_of_birth is not a readable date; stored as missing")
    ]
    a1 = session.scalar(select(PortalAccount).where(PortalAccount.account_id == "A1"))
    assert a1 is not None
    session.refresh(a1)
    assert a1.birth_date is None


@pytest.mark.parametrize(
    "written",
    ["4-3-1985 00:00", "1985-03-04 00:00:00", "04-03-1985 0:00:00.000", "1985-03-04T00:00"],
)
def test_excel_date_times_at_midnight_are_dates(session: Session, written: str) -> None:
    data = f"client_number;date_of_birth;treated_since\nT1;{written};{written}\n"
    summary = _clients(session, data)
    assert not summary.rejected
    assert _client(session, "T1").birth_date == date(1985, 3, 4)
    accounts = _accounts(
        session, f"account_id;identification_number;status;date_of_birth\nA1;T1;active;{written}\n"
    )
    assert not accounts.warnings and not accounts.rejected
    a1 = session.scalar(select(PortalAccount).where(PortalAccount.account_id == "A1"))
    assert a1 is not None and a1.birth_date == date(1985, 3, 4)


@pytest.mark.parametrize("written", ["4-3-1985 13:45", "1985-03-04 00:00:01", "04-03-1985 0:30"])
def test_a_date_with_another_time_of_day_is_rejected(session: Session, written: str) -> None:
    summary = _clients(session, f"client_number;geboortedatum\nT1;{written}\n")
    assert [(p.where, p.reason) for p in summary.rejected] == [
        (
            "clients.csv:2",
            "geboortedatum: the date has a time of day other than midnight "
            "(a date is expected, e.g. 04-03-1985)",
        )
    ]


def test_excel_sep_line_is_honoured_with_physical_line_numbers(session: Session) -> None:
    data = (
        "sep=;\r\n"
        "client_number;given_name;date_of_birth\r\n"
        "S1;Jan, Piet;04-03-1985\r\n"
        "S2;;31-02-1985\r\n"  # 4: line numbers count the sep= line
    )
    summary = _clients(session, b"\xef\xbb\xbf" + data.encode())
    assert summary.created == {"client": 1}
    assert [p.where for p in summary.rejected] == ["clients.csv:4"]
    assert _client(session, "S1").given_name == "Jan, Piet"
