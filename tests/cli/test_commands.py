"""The commands as a user runs them (CliRunner, in-process) on SQLite and PostgreSQL.

Every run is checked for what must never happen: a traceback on stderr, and in JSON mode
anything on stdout but one JSON document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from arkinctl.cli import app
from arkinctl.db.models import AuditEvent, Client
from arkinctl.services.audit import GENESIS_HASH, event_hash, hashed_fields
from arkinctl.services.diagnose import CAUSES
from tests.factories import (
    BEFORE_CUTOFF,
    FAKE_BSNS,
    SCENARIOS,
    add_account,
    add_episode,
    add_part,
    make_client,
    visible_client,
)

BOX = set(chr(c) for c in range(0x2500, 0x2580))


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def _checked(result: Any) -> Run:
    run = Run(result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in run.stderr, run.stderr
    assert "Traceback" not in run.stdout, run.stdout
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}") from result.exception
    return run


@pytest.fixture
def run(cli: Callable[..., Any]) -> Callable[..., Run]:
    """`run("diagnose", "123")`: arkinctl against the test database, with the never-checks."""

    def invoke(*args: str) -> Run:
        r = _checked(cli(*args))
        if "json" in args and r.exit_code in (0, 3, 20):
            json.loads(r.stdout)  # one document, nothing else
        return r

    return invoke


@pytest.fixture
def seed(session_factory: Any) -> Callable[[Callable[[Any], Any]], Any]:
    """Build rows in one committed transaction; returns what the builder returns."""

    def build(fn: Callable[[Any], Any]) -> Any:
        with session_factory.begin() as s:
            return fn(s)

    return build


@pytest.fixture
def audit(session_factory: Any) -> Callable[[], list[AuditEvent]]:
    def events() -> list[AuditEvent]:
        with session_factory() as s:
            return list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))

    return events


def _no_decoration(text: str) -> None:
    assert "\x1b[" not in text
    assert not BOX & set(text), sorted(BOX & set(text))


# ---- demo and diagnose --all -------------------------------------------------------------


def test_demo_has_every_cause_and_a_rerun_gives_the_same_counts(run: Callable[..., Run]) -> None:
    first = run("--format", "json", "demo")
    assert first.exit_code == 0, first.stderr
    doc = first.json()
    assert set(doc["causes"]) == set(CAUSES[1:])
    assert all(n > 0 for n in doc["causes"].values()), doc["causes"]
    assert sum(doc["causes"].values()) == doc["clients"]
    assert 40 <= doc["clients"] <= 60
    assert set(doc["examples"]) == set(CAUSES[1:])
    assert [d["cause"] for d in doc["diagnoses"]] == ["dob_mismatch", "only_before_cutoff", "ok"]

    again = run("demo", "--format", "json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["causes"] == doc["causes"]
    assert again.json()["clients"] == doc["clients"]

    report = run("diagnose", "--all", "--format", "json")
    assert report.exit_code == 0
    assert report.json() == {"total": doc["clients"], "causes": doc["causes"]}

    # each example shows its own cause
    for cause, number in doc["examples"].items():
        d = run("--format", "json", "diagnose", number)
        assert d.json()["cause"] == cause
        assert d.exit_code == (0 if cause == "ok" else 20)


def test_demo_in_a_pipe_is_plain_text(run: Callable[..., Run]) -> None:
    r = run("demo")
    assert r.exit_code == 0, r.stderr
    _no_decoration(r.stdout)
    assert "Demo database:" in r.stdout
    assert "dob_mismatch" in r.stdout
    table = run("diagnose", "--all")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split() == ["cause", "clients"]
    assert "client(s) in all" in table.stderr
    # The search the demo suggests finds someone.
    suggested = r.stdout.split("Next: arkinctl ", 1)[1].split(" · ")[0].split()
    hits = run("--format", "json", *suggested).json()
    assert hits and hits[0]["name"] == "Zoë van der Meulen-Özdemir"


def test_diagnose_all_csv_and_empty_database(run: Callable[..., Run]) -> None:
    r = run("diagnose", "--all", "--format", "json")
    assert r.json() == {"total": 0, "causes": dict.fromkeys(CAUSES[1:], 0)}
    csv = run("--format", "csv", "diagnose", "--all")
    assert csv.stdout.splitlines()[0] == "cause,clients"
    assert len(csv.stdout.splitlines()) == 1 + len(CAUSES) - 1


def test_diagnose_needs_a_ref_or_all(run: Callable[..., Run]) -> None:
    neither = run("diagnose")
    assert neither.exit_code == 2
    assert neither.stderr == (
        "Error: give a client REF (client number, BSN, e-mail or account id) or --all "
        "(see `arkinctl diagnose --help`)\n"
    )
    both = run("diagnose", "123", "--all")
    assert both.exit_code == 2
    assert "not both" in both.stderr


# ---- diagnose one client -----------------------------------------------------------------


def test_diagnose_json_cause_and_exit_code_for_every_cause(
    run: Callable[..., Run], seed: Callable[..., Any]
) -> None:
    now = datetime.now(UTC)
    clients = seed(
        lambda s: {name: build(s, now).client_number for name, (build, _) in SCENARIOS.items()}
    )
    for name, number in clients.items():
        expected = SCENARIOS[name][1]
        r = run("diagnose", number, "--format", "json")
        doc = r.json()
        assert (name, doc["cause"]) == (name, expected)
        assert {"cause", "dob_difference", "checks", "remedy", "next_command"} <= set(doc)
        assert r.exit_code == (0 if expected == "ok" else 20), name
        if expected == "dob_mismatch":
            assert doc["dob_difference"] in ("day_month_swapped", "off_by_one_day", "century")
        else:
            assert doc["dob_difference"] is None
        assert r.stderr == ""


def test_diagnose_unknown_client(run: Callable[..., Run]) -> None:
    r = run("diagnose", "7999999", "--format", "json")
    assert r.exit_code == 3
    doc = r.json()
    assert doc["cause"] == "client_not_found"
    assert doc["client_number"] is None
    assert doc["checks"][0]["passed"] is False
    table = run("diagnose", "7999999")
    assert table.exit_code == 3
    assert "client_not_found" in table.stdout


def test_diagnose_table_shows_checks_cause_and_remedy(
    run: Callable[..., Run], seed: Callable[..., Any]
) -> None:
    number = seed(lambda s: SCENARIOS["dob_swapped"][0](s, datetime.now(UTC)).client_number)
    r = run("diagnose", number)
    assert r.exit_code == 20
    _no_decoration(r.stdout)
    lines = r.stdout.splitlines()
    assert any(line.startswith("✓ 5") for line in lines)
    assert any(line.startswith("✗ 6") for line in lines)
    assert any(line.startswith("· 7") for line in lines)
    assert "dob_mismatch" in r.stdout and "day_month_swapped" in r.stdout
    assert f"arkinctl dob verify {number} --claimed DATE" in r.stdout


def test_format_before_or_after_the_subcommand(
    run: Callable[..., Run], seed: Callable[..., Any]
) -> None:
    number = seed(lambda s: visible_client(s).client_number)
    before = run("--format", "json", "diagnose", number)
    after = run("diagnose", number, "--format", "json")
    short = run("diagnose", number, "-f", "json")
    assert before.exit_code == after.exit_code == short.exit_code == 0
    assert before.json()["cause"] == after.json()["cause"] == short.json()["cause"] == "ok"
    # the command's own option wins over the global one
    assert run("--format", "csv", "diagnose", number, "--format", "json").json()["cause"] == "ok"


# ---- client show / search and references --------------------------------------------------


def test_client_show_masks_the_bsn_and_reveal_is_audited(
    run: Callable[..., Run], seed: Callable[..., Any], audit: Callable[[], list[AuditEvent]]
) -> None:
    bsn = FAKE_BSNS[1]
    number = seed(lambda s: visible_client(s, bsn=bsn).client_number)
    masked = "*****" + bsn[-4:]

    table = run("client", "show", number)
    assert table.exit_code == 0
    assert masked in table.stdout and bsn not in table.stdout
    _no_decoration(table.stdout)

    doc = run("client", "show", number, "--format", "json").json()
    assert doc["bsn"] == masked and doc["bsn_revealed"] is False
    assert bsn not in json.dumps(doc)
    assert doc["parts"]["shared"] == 1 and doc["account"]["status"] == "active"
    assert not any(e.action == "client.reveal_bsn" for e in audit())

    revealed = run("client", "show", number, "--reveal", "--format", "json").json()
    assert revealed["bsn"] == bsn and revealed["bsn_revealed"] is True
    assert bsn in run("client", "show", number, "--reveal").stdout
    actions = [(e.action, e.client_number, e.user) for e in audit()]
    assert actions.count(("client.reveal_bsn", number, "tester")) == 2
    assert actions.count(("client.show", number, "tester")) == 4


def test_client_search_is_case_and_accent_insensitive(
    run: Callable[..., Run], seed: Callable[..., Any]
) -> None:
    def build(s: Any) -> dict[str, str]:
        return {
            "zoe": make_client(
                s, given="Zoë", prefix="van der", family="Meulen-Özdemir"
            ).client_number,
            "jan": make_client(s, given="Jan", prefix="de", family="Vries").client_number,
            "other": make_client(s, given="Piet", family="Bakker").client_number,
        }

    c = seed(build)
    for text in ("zoe", "ZOË", "Zoë", "ozdemir", "meulen zoe", "VAN DER meulen"):
        hits = run("client", "search", text, "--format", "json").json()
        assert [h["client_number"] for h in hits] == [c["zoe"]], text
    assert run("client", "search", "zoe", "--format", "json").json()[0]["name"] == (
        "Zoë van der Meulen-Özdemir"
    )
    # all words must match
    assert run("client", "search", "zoe bakker", "--format", "json").json() == []


def test_client_search_treats_percent_and_underscore_literally(
    run: Callable[..., Run], seed: Callable[..., Any]
) -> None:
    def build(s: Any) -> dict[str, str]:
        return {
            "plain": make_client(s, given="Jan", prefix="de", family="Vries").client_number,
            "underscore": make_client(
                s, given="Kees", family="Test", email="jan_de@example.invalid"
            ).client_number,
            "percent": make_client(s, given="Honderd", family="Proc%ent").client_number,
            "backslash": make_client(s, given="Schuine", family="Streep\\").client_number,
        }

    c = seed(build)

    def found(text: str) -> list[str]:
        return [h["client_number"] for h in run("client", "search", text, "-f", "json").json()]

    assert found("%") == [c["percent"]]
    assert found("_") == [c["underscore"]]
    assert found("n_d") == [c["underscore"]]  # a LIKE wildcard would match "Jan de" too
    assert found("c%e") == [c["percent"]]
    assert found("o%e") == []
    assert found("\\") == [c["backslash"]]


def test_client_search_by_date_of_birth_and_empty_results(
    run: Callable[..., Run], seed: Callable[..., Any]
) -> None:
    c = seed(
        lambda s: [
            make_client(s, family="Jansen", birth_date=date(1985, 3, 4)).client_number,
            make_client(s, family="Jansen", birth_date=date(1990, 1, 2)).client_number,
        ]
    )
    both = run("client", "search", "jansen", "--format", "json").json()
    assert [h["client_number"] for h in both] == c
    for typed in ("04-03-1985", "4 maart 1985", "1985-03-04"):
        one = run("client", "search", "jansen", "--dob", typed, "--format", "json").json()
        assert [h["client_number"] for h in one] == [c[0]]
        assert one[0]["birth_date"] == "1985-03-04"
    only_dob = run("client", "search", "--dob", "02-01-1990", "--format", "json").json()
    assert [h["client_number"] for h in only_dob] == [c[1]]

    none = run("client", "search", "nobody")
    assert none.exit_code == 0
    assert none.stdout == ""
    assert "No client matches." in none.stderr
    assert run("client", "search", "nobody", "--format", "json").json() == []
    csv = run("client", "search", "nobody", "--format", "csv")
    assert csv.stdout.splitlines() == [
        "client_number,name,birth_date,birth_date_partial,email,deceased"
    ]

    bad = run("client", "search", "jansen", "--dob", "31-02-1985")
    assert bad.exit_code == 5
    assert "31-02-1985" not in bad.stderr
    assert run("client", "search", "").exit_code == 2  # a usage error: nothing to search for


def test_references_by_bsn_email_and_account_id(
    run: Callable[..., Run], seed: Callable[..., Any]
) -> None:
    bsn = FAKE_BSNS[2]

    def build(s: Any) -> str:
        c = make_client(s, bsn=bsn, email="Kim.Test@Example.invalid")
        add_episode(s, c)
        add_account(s, c, account_id="karify-42", email="portal.kim@example.invalid")
        add_part(s, c)
        return c.client_number

    number = seed(build)
    for ref in (
        number,
        bsn,
        "9999.90.020",
        "999 990 020",
        "kim.test@example.invalid",
        "KIM.TEST@EXAMPLE.INVALID",
        "Portal.Kim@example.invalid",
        "karify-42",
    ):
        r = run("client", "show", ref, "--format", "json")
        assert r.exit_code == 0, (ref, r.stderr)
        assert r.json()["client_number"] == number, ref
        assert run("diagnose", ref, "--format", "json").json()["cause"] == "ok"


def test_ambiguous_email_lists_the_clients(
    run: Callable[..., Run], seed: Callable[..., Any]
) -> None:
    numbers = seed(
        lambda s: [
            make_client(s, email="gezin@example.invalid").client_number,
            make_client(s, email="Gezin@Example.invalid").client_number,
        ]
    )
    for args in (("client", "show"), ("diagnose",), ("files", "list"), ("dob", "verify")):
        r = run(*args, "gezin@example.invalid", "--format", "json")
        assert r.exit_code == 4, args
        assert r.stdout == ""
        assert all(n in r.stderr for n in numbers)
        assert "gezin@example.invalid" not in r.stderr.lower().split("error:")[1].splitlines()[0]


def test_bad_and_unknown_references(run: Callable[..., Run], seed: Callable[..., Any]) -> None:
    seed(lambda s: make_client(s))
    bad_bsn = run("client", "show", "123456789")
    assert bad_bsn.exit_code == 5
    assert "11-proof" in bad_bsn.stderr
    assert "123456789" not in bad_bsn.stderr
    assert run("diagnose", "123456789").exit_code == 5
    unknown = run("client", "show", FAKE_BSNS[4])  # valid BSN, nobody has it
    assert unknown.exit_code == 3
    assert FAKE_BSNS[4] not in unknown.stderr
    assert run("client", "show", "nobody@example.invalid").exit_code == 3
    assert run("client", "show", "   ").exit_code == 5


# ---- files, share, dob ---------------------------------------------------------------------


def _file_client(s: Any) -> str:
    c = make_client(s)
    add_episode(s, c)
    add_account(s, c)
    add_part(s, c, title="Brief aan huisarts")
    add_part(s, c, title="Oude brief", entered_at=BEFORE_CUTOFF)
    add_part(s, c, title="Voortgang", kind="progress_note")
    add_part(s, c, title="Concept", status="draft")
    add_part(s, c, title="Achtergehouden", withheld=True)
    add_part(
        s,
        c,
        title="Rand",
        entered_at=datetime(2022, 2, 28, 23, 30, tzinfo=UTC),
        clinical_date=date(2021, 1, 1),
    )
    return c.client_number


def test_files_list_reasons_and_filters(run: Callable[..., Run], seed: Callable[..., Any]) -> None:
    number = seed(_file_client)
    rows = run("files", "list", number, "--format", "json").json()
    assert {r["title"]: (r["shared"], r["reason"]) for r in rows} == {
        "Brief aan huisarts": (True, "shared"),
        "Oude brief": (False, "before_cutoff"),
        "Voortgang": (False, "kind_not_shared"),
        "Concept": (False, "draft"),
        "Achtergehouden": (False, "withheld"),
        "Rand": (True, "shared"),
    }
    edge = next(r for r in rows if r["title"] == "Rand")
    assert edge["entered_on"] == "2022-03-01"  # local date
    assert edge["entered_at"] == "2022-02-28T23:30:00+00:00"  # instant with offset

    def titles(*flags: str) -> set[str]:
        return {r["title"] for r in run("files", "list", number, *flags, "-f", "json").json()}

    assert titles("--shared") == {"Brief aan huisarts", "Rand"}
    assert titles("--not-shared") == {"Oude brief", "Voortgang", "Concept", "Achtergehouden"}
    assert titles("--before-cutoff") == {"Oude brief"}
    assert run("files", "list", number, "--shared", "--before-cutoff").exit_code == 5

    table = run("files", "list", number)
    _no_decoration(table.stdout)
    assert table.stdout.splitlines()[0].split() == [
        "entered",
        "kind",
        "title",
        "status",
        "shared",
        "reason",
    ]
    assert "2022-03-01" in table.stdout and "✗ no" in table.stdout and "✓ yes" in table.stdout


def test_files_list_csv(run: Callable[..., Run], seed: Callable[..., Any]) -> None:
    import csv
    import io

    number = seed(_file_client)
    r = run("files", "list", number, "--format", "csv")
    assert r.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert r.stdout.splitlines()[0] == (
        "id,entered_on,entered_at,kind,title,status,shared,reason,clinical_date,after_death,source"
    )
    assert len(rows) == 6
    assert {row["reason"] for row in rows} == {
        "shared",
        "before_cutoff",
        "kind_not_shared",
        "draft",
        "withheld",
    }
    assert {row["shared"] for row in rows} == {"true", "false"}
    only_old = run("--format", "csv", "files", "list", number, "--before-cutoff")
    assert len(only_old.stdout.splitlines()) == 2


def test_files_list_empty(run: Callable[..., Run], seed: Callable[..., Any]) -> None:
    number = seed(lambda s: make_client(s).client_number)
    r = run("files", "list", number)
    assert (r.exit_code, r.stdout) == (0, "")
    assert "No file parts match." in r.stderr
    assert run("files", "list", number, "--format", "json").json() == []


def test_share_disable_and_enable_and_diagnose_follows(
    run: Callable[..., Run], seed: Callable[..., Any], session_factory: Any
) -> None:
    number = seed(lambda s: visible_client(s).client_number)
    assert run("diagnose", number).exit_code == 0

    off = run("share", "disable", number, "--reason", "op verzoek van cliënt", "--format", "json")
    assert off.exit_code == 0, off.stderr
    assert off.json()["enabled"] is False and off.json()["changed"] is True
    with session_factory() as s:
        c = s.scalars(select(Client).where(Client.client_number == number)).one()
        assert (c.sharing_enabled, c.sharing_changed_by, c.sharing_reason) == (
            False,
            "tester",
            "op verzoek van cliënt",
        )
        assert c.sharing_changed_at is not None
    d = run("diagnose", number, "--format", "json")
    assert (d.exit_code, d.json()["cause"]) == (20, "sharing_disabled")
    assert "tester" in d.json()["checks"][6]["detail"]

    again = run("share", "disable", number, "--reason", "nogmaals")
    assert again.exit_code == 0
    assert "already off" in again.stdout

    on = run("share", "enable", number, "--reason", "abusievelijk uitgezet")
    assert on.exit_code == 0
    assert "now on" in on.stdout
    assert run("diagnose", number).exit_code == 0


def test_share_needs_a_reason(
    run: Callable[..., Run], seed: Callable[..., Any], audit: Callable[[], list[AuditEvent]]
) -> None:
    number = seed(lambda s: visible_client(s).client_number)
    assert run("share", "disable", number).exit_code == 2
    blank = run("share", "disable", number, "--reason", "   ")
    assert blank.exit_code == 5
    assert run("diagnose", number).exit_code == 0  # nothing changed
    # the refused change is audited as an error, in a transaction of its own
    assert [(e.action, e.outcome, e.user) for e in audit()] == [
        ("share.disable", "refused", "tester"),
        ("diagnose", "ok", "tester"),
    ]


def test_dob_verify_advice(run: Callable[..., Run], seed: Callable[..., Any]) -> None:
    number = seed(lambda s: SCENARIOS["dob_swapped"][0](s, datetime.now(UTC)).client_number)
    for claimed, advice in [
        ("4-3-1985", "matches the record"),
        ("3 april 1985", "matches the portal"),
        ("04-03-1986", "matches neither"),
        (None, "--claimed"),
    ]:
        extra = ("--claimed", claimed) if claimed else ()
        r = run("dob", "verify", number, *extra, "--format", "json")
        assert r.exit_code == 20
        doc = r.json()
        assert doc["record"] == "1985-03-04" and doc["portal"] == "1985-04-03"
        assert doc["verdict"] == "mismatch"
        assert advice in doc["advice"], claimed
        assert doc["comparisons"][0]["difference"] == "day_month_swapped"
        table = run("dob", "verify", number, *extra)
        assert "✗ day_month_swapped" in table.stdout
        _no_decoration(table.stdout)


def test_dob_verify_match_and_missing(run: Callable[..., Run], seed: Callable[..., Any]) -> None:
    numbers = seed(
        lambda s: (
            visible_client(s).client_number,
            SCENARIOS["dob_partial_record"][0](s, datetime.now(UTC)).client_number,
            SCENARIOS["no_account"][0](s, datetime.now(UTC)).client_number,
        )
    )
    match = run("dob", "verify", numbers[0], "--claimed", "04031985", "-f", "json")
    assert (match.exit_code, match.json()["verdict"]) == (0, "match")
    partial = run("dob", "verify", numbers[1], "-f", "json")
    assert (partial.exit_code, partial.json()["verdict"]) == (20, "missing")
    assert partial.json()["record_partial"] == "1974"
    assert "partial" in partial.json()["advice"]
    no_account = run("dob", "verify", numbers[2], "-f", "json")
    assert "no portal account" in no_account.json()["advice"]
    bad = run("dob", "verify", numbers[0], "--claimed", "29-02-2001")
    assert bad.exit_code == 5 and "29-02-2001" not in bad.stderr


# ---- audit --------------------------------------------------------------------------------


AUDITED = [
    (("client", "show", "{n}"), "client.show", True),
    (("client", "show", "{n}", "--reveal"), "client.reveal_bsn", True),
    # one event per client a search showed (a search result discloses who they are)
    (("client", "search", "testpersoon"), "client.search", True),
    (("files", "list", "{n}"), "files.list", True),
    (("diagnose", "{n}"), "diagnose", True),
    (("diagnose", "--all"), "diagnose.all", False),
    (("dob", "verify", "{n}", "--claimed", "4-3-1985"), "dob.verify", True),
    (("share", "disable", "{n}", "--reason", "test"), "share.disable", True),
    (("share", "enable", "{n}", "--reason", "test"), "share.enable", True),
    (("demo",), "demo.build", False),
]


def test_every_command_writes_an_audit_event(
    run: Callable[..., Run], seed: Callable[..., Any], audit: Callable[[], list[AuditEvent]]
) -> None:
    number = seed(lambda s: visible_client(s, bsn=FAKE_BSNS[0]).client_number)
    seen = 0
    for args, action, about_client in AUDITED:
        words = [a.format(n=number) for a in args]
        if args[0] not in ("share", "demo"):
            words += ["--reason", "support call 12"]
        r = run(*words)
        assert r.exit_code == 0, (args, r.stderr)
        events = audit()
        assert len(events) > seen, args
        new, seen = events[seen:], len(events)
        if args[0] == "demo":
            # the build, then a read of each example client the demo shows
            assert [e.action for e in new] == ["demo.build", "diagnose", "diagnose", "diagnose"]
            continue
        event = events[-1]
        assert (event.user, event.action, event.outcome) == ("tester", action, "ok")
        assert event.client_number == (number if about_client else None), args
        assert event.occurred_at.tzinfo is not None
        if args[0] == "share":
            assert (event.purpose, event.action_code) == ("test", "U")
        elif args[0] != "demo":
            assert event.purpose == "support call 12"


def test_unknown_client_is_audited_as_not_found(
    run: Callable[..., Run], audit: Callable[[], list[AuditEvent]]
) -> None:
    assert run("diagnose", "7999999").exit_code == 3
    event = audit()[-1]
    assert (event.action, event.outcome, event.user, event.client_number) == (
        "diagnose",
        "not_found",
        "tester",
        None,
    )


def test_as_user_is_the_audited_user(
    run: Callable[..., Run], seed: Callable[..., Any], audit: Callable[[], list[AuditEvent]]
) -> None:
    number = seed(lambda s: visible_client(s).client_number)
    assert run("--as", "t.helpdesk", "diagnose", number).exit_code == 0
    assert (audit()[-1].user, audit()[-1].role) == ("t.helpdesk", "technical")


def test_audit_events_form_a_hash_chain(
    run: Callable[..., Run], seed: Callable[..., Any], audit: Callable[[], list[AuditEvent]]
) -> None:
    number = seed(lambda s: visible_client(s).client_number)
    for args in (
        ("client", "show", number),
        ("diagnose", number),
        ("files", "list", number),
        ("share", "disable", number, "--reason", "x"),
        ("diagnose", "--all"),
        ("diagnose", "7999999"),
        ("client", "search", "test"),
    ):
        run(*args)
    events = audit()
    assert len(events) == 7
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in pairwise(events):
        assert after.prev_hash == before.hash
    for e in events:
        assert e.hash == event_hash(e.prev_hash, hashed_fields(e))
    assert len({e.hash for e in events}) == len(events)


# ---- errors ------------------------------------------------------------------------------


def _invoke(*args: str) -> Run:
    return _checked(CliRunner().invoke(app, list(args)))


def test_schema_missing(blank_db_url: str) -> None:
    for args in (("diagnose", "123"), ("client", "search", "x"), ("files", "list", "1")):
        r = _invoke("--db", blank_db_url, *args)
        assert r.exit_code == 9, (args, r.stderr)
        assert "db init" in r.stderr
        assert r.stderr.startswith("Error: ")
        assert len(r.stderr.strip().splitlines()) == 1
        assert r.stdout == ""


def test_db_init_then_commands_work(blank_db_url: str) -> None:
    init = _invoke("--db", blank_db_url, "db", "init")
    assert init.exit_code == 0, init.stderr
    assert init.stdout == ""  # status on stderr
    status = _invoke("--db", blank_db_url, "db", "status", "--format", "json")
    assert status.exit_code == 0
    assert status.json()["current"] is True
    assert _invoke("--db", blank_db_url, "diagnose", "123").exit_code == 3


def test_unreachable_postgresql_is_one_line() -> None:
    for extra in ((), ("-v",)):
        r = _invoke("--db", "postgresql://nobody@127.0.0.1:1/x", *extra, "diagnose", "123")
        assert r.exit_code == 8
        assert r.stdout == ""
        lines = r.stderr.strip().splitlines()
        assert lines[0].startswith("Error: cannot reach the database")
        if not extra:
            assert len(lines) == 1, r.stderr


@pytest.mark.parametrize("url", ["mysql://u@h/db", "oracle://scott:tiger@db/x"])
def test_bad_db_scheme(url: str) -> None:
    r = _invoke("--db", url, "diagnose", "123")
    assert r.exit_code == 5
    assert "scheme" in r.stderr
    assert "tiger" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_help_needs_no_database() -> None:
    r = _invoke("--db", "postgresql://nobody@127.0.0.1:1/x", "--help")
    assert r.exit_code == 0
    assert "diagnose" in r.stdout
    for group in ("client", "files", "share", "dob", "db"):
        assert _invoke(group, "--help").exit_code == 0


def test_no_color_flag_is_accepted(run: Callable[..., Run], seed: Callable[..., Any]) -> None:
    number = seed(lambda s: visible_client(s).client_number)
    r = run("--no-color", "diagnose", number)
    assert r.exit_code == 0
    _no_decoration(r.stdout)


def test_demo_creates_its_database_at_a_new_path(tmp_path: Path) -> None:
    target = tmp_path / "new" / "demo.db"
    r = _invoke("--db", str(target), "--format", "json", "demo")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["clients"] > 0
    assert target.is_file()


def test_a_mistyped_db_path_is_reported_not_created(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "x.db"
    r = _invoke("--db", str(target), "diagnose", "1")
    assert r.exit_code == 9
    assert r.stderr.startswith(f"Error: there is no database file at {target}")
    assert not target.exists() and not target.parent.exists()


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database at all\n" * 100)
    for args in (("diagnose", "1"), ("doctor",), ("db", "init")):
        r = _invoke("--db", str(junk), *args)
        assert r.exit_code == 8, (args, r.stderr)
        # doctor reports on stdout (it is its output); the others fail with one line
        assert "not a database" in (r.stdout if args == ("doctor",) else r.stderr)
        assert "Traceback" not in r.stderr and "unexpected" not in r.stderr


# ---- regressions found by a new user (second round) ---------------------------------------


def test_an_exact_client_number_wins_and_prefixes_pick_one_way(
    run: Callable[..., Run], seed: Callable[..., Any]
) -> None:
    from tests.factories import FAKE_BSNS, add_account, make_client

    def build(s: Any) -> tuple[str, str]:
        bsn_holder = make_client(s, bsn=FAKE_BSNS[3])
        add_account(s, bsn_holder, account_id="acc-2")
        make_client(s, number=FAKE_BSNS[3])  # a client number written like that BSN
        make_client(s, number="acc-2")
        return bsn_holder.client_number, FAKE_BSNS[3]

    holder, bsn = seed(build)
    assert run("--format", "json", "client", "show", bsn).json()["client_number"] == bsn
    assert run("--format", "json", "client", "show", "acc-2").json()["client_number"] == "acc-2"
    shown = run("--format", "json", "client", "show", f"bsn:{bsn}").json()
    assert shown["client_number"] == holder
    assert (
        run("--format", "json", "client", "show", "account:acc-2").json()["client_number"] == holder
    )
    assert run("client", "show", "client:0000000").exit_code == 3


def test_engine_urls_that_keep_nothing_and_upgrades_of_missing_files_are_refused(
    tmp_path: Path,
) -> None:
    for url in ("sqlite://", "sqlite:///:memory:"):
        r = _invoke("--db", url, "db", "status")
        assert r.exit_code == 5 and "in-memory" in r.stderr, r.stderr
    missing = tmp_path / "typo.db"
    r = _invoke("--db", str(missing), "db", "upgrade")
    assert r.exit_code == 9 and not missing.exists()
    r = _invoke("--db", "", "db", "status")
    assert r.exit_code == 5 and "--db is empty" in r.stderr


def test_foreign_or_missing_tables_are_conflicts_and_schema_errors(blank_db_url: str) -> None:
    from sqlalchemy import create_engine

    from arkinctl.config import normalise_database_url

    engine = create_engine(normalise_database_url(blank_db_url))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE tickets (id INTEGER PRIMARY KEY)")
    r = _invoke("--db", blank_db_url, "db", "init")
    assert r.exit_code == 6, r.stderr
    assert "not arkinctl's" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE tickets")
    assert _invoke("--db", blank_db_url, "db", "init").exit_code == 0
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE file_parts")
    r = _invoke("--db", blank_db_url, "diagnose", "--all")
    assert r.exit_code == 9, r.stderr
    assert "damaged" in r.stderr
    status = _invoke("--db", blank_db_url, "--format", "json", "db", "status")
    assert status.exit_code == 9
    assert status.json()["missing_tables"] == ["file_parts"]
    assert _invoke("--db", blank_db_url, "doctor").exit_code == 9
    engine.dispose()


def test_db_init_refuses_a_database_that_holds_something_else(blank_db_url: str) -> None:
    from sqlalchemy import create_engine

    from arkinctl.config import normalise_database_url

    engine = create_engine(normalise_database_url(blank_db_url))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE foo (id INTEGER PRIMARY KEY)")
    engine.dispose()
    r = _invoke("--db", blank_db_url, "db", "init")
    assert r.exit_code == 6 and "1 table(s) that are not arkinctl's (foo)" in r.stderr


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///:memory:?cache=shared",
        "sqlite:///file::memory:?uri=true",
        "postgresql://",
        "postgres://localhost",
        "sqlite:",
        ":memory:",
    ],
)
def test_urls_that_keep_nothing_or_name_no_database_are_refused(url: str, tmp_path: Path) -> None:
    r = _invoke("--db", url, "db", "init")
    assert r.exit_code == 5, (url, r.stderr)
    assert list(Path.cwd().iterdir()) == []  # no file made of the URL


def test_client_show_lists_every_portal_account_in_the_table(
    run: Callable[..., Run], seed: Callable[..., Any]
) -> None:
    from tests.factories import add_account, add_episode, make_client

    def build(s: Any) -> str:
        c = make_client(s)
        add_episode(s, c)
        add_account(s, c, status="active", account_id="acct-one")
        add_account(s, c, status="blocked", account_id="acct-two")
        return c.client_number

    number = seed(build)
    table = run("client", "show", number).stdout
    assert "acct-one" in table and "acct-two (blocked)" in table
