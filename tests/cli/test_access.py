"""Access control through the CLI (DESIGN section 5): users and roles, care relationships,
break the glass, hidden titles for technical staff, and every refusal in the audit trail.

Every test database has the users of conftest.TEST_USERS: tester (admin), p.arts
(practitioner) and t.helpdesk (technical)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from arkinctl.db.models import AuditEvent
from tests.factories import visible_client

PRACTITIONER = ("--as", "p.arts")
TECHNICAL = ("--as", "t.helpdesk")


@pytest.fixture
def client_number(session_factory: Any) -> str:
    with session_factory.begin() as s:
        c = visible_client(s, given="Vera", family="Visser")
        return c.client_number


def _events(session_factory: Any) -> list[AuditEvent]:
    with session_factory() as s:
        return list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def test_an_unknown_user_is_refused_before_anything_is_read(
    run: Callable[..., Any], client_number: str, session_factory: Any
) -> None:
    result = run("--as", "nobody.here", "client", "show", client_number)
    assert result.exit_code == 7
    assert "not an arkinctl user" in result.stderr and "Visser" not in result.stdout
    last = _events(session_factory)[-1]
    assert (last.user, last.outcome, last.role, last.client_id) == (
        "nobody.here",
        "denied",
        None,
        None,  # refused before the client was looked up
    )


def test_a_disabled_user_is_refused_and_can_be_enabled_again(
    run: Callable[..., Any], client_number: str
) -> None:
    assert run("user", "disable", "t.helpdesk").exit_code == 0
    refused = run(*TECHNICAL, "diagnose", client_number)
    assert refused.exit_code == 7 and "disabled" in refused.stderr
    assert run("user", "enable", "t.helpdesk").exit_code == 0
    assert run(*TECHNICAL, "diagnose", client_number).exit_code == 0


def test_a_practitioner_opens_only_clients_they_treat(
    run: Callable[..., Any], client_number: str, session_factory: Any
) -> None:
    denied = run(*PRACTITIONER, "client", "show", client_number)
    assert denied.exit_code == 7
    assert "no current care relationship" in denied.stderr and "--reason" in denied.stderr
    event = _events(session_factory)[-1]
    assert (event.user, event.role, event.outcome, event.client_number) == (
        "p.arts",
        "practitioner",
        "denied",
        client_number,
    )
    for args in (("diagnose",), ("files", "list"), ("dob", "verify"), ("invite", "send")):
        assert run(*PRACTITIONER, *args, client_number).exit_code == 7, args

    assert run("care", "link", client_number, "p.arts").exit_code == 0
    shown = run(*PRACTITIONER, "client", "show", client_number)
    assert shown.exit_code == 0 and "Visser" in shown.stdout
    event = _events(session_factory)[-1]
    assert (event.outcome, event.break_glass, event.role) == ("ok", False, "practitioner")


def test_a_relationship_outside_its_period_does_not_count(
    run: Callable[..., Any], client_number: str
) -> None:
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    last_week = (date.today() - timedelta(days=7)).isoformat()
    assert run("care", "link", client_number, "p.arts", "--until", yesterday).exit_code == 0
    assert run(*PRACTITIONER, "diagnose", client_number).exit_code == 7
    listed = json.loads(run("--format", "json", "care", "list", client_number).stdout)
    assert [(r["username"], r["current"]) for r in listed] == [("p.arts", False)]
    assert run("care", "link", client_number, "p.arts", "--from", last_week).exit_code == 0
    assert run(*PRACTITIONER, "diagnose", client_number).exit_code == 0
    assert run("care", "unlink", client_number, "p.arts").exit_code == 0
    assert run(*PRACTITIONER, "diagnose", client_number).exit_code == 7


def test_breaking_the_glass_needs_a_reason_and_is_flagged(
    run: Callable[..., Any], client_number: str, session_factory: Any
) -> None:
    opened = run(*PRACTITIONER, "files", "list", client_number, "--reason", "crisis call, 02:10")
    assert opened.exit_code == 0
    event = _events(session_factory)[-1]
    assert (event.action, event.break_glass, event.purpose) == (
        "files.list",
        True,
        "crisis call, 02:10",
    )
    # a technical or admin read is never break-the-glass
    assert run(*TECHNICAL, "files", "list", client_number).exit_code == 0
    assert _events(session_factory)[-1].break_glass is False


def test_technical_staff_see_metadata_but_not_clinical_titles(
    run: Callable[..., Any], client_number: str
) -> None:
    admin = json.loads(run("--format", "json", "files", "list", client_number).stdout)
    tech = json.loads(run(*TECHNICAL, "--format", "json", "files", "list", client_number).stdout)
    assert admin and all(p["title"] != "(hidden)" for p in admin)
    assert [p["title"] for p in tech] == ["(hidden)"] * len(admin)
    strip = [{k: v for k, v in p.items() if k != "title"} for p in admin]
    assert [{k: v for k, v in p.items() if k != "title"} for p in tech] == strip
    assert "(hidden)" in run(*TECHNICAL, "files", "list", client_number).stdout


def test_work_over_many_clients_is_for_staff(run: Callable[..., Any], tmp_path: Any) -> None:
    batch = tmp_path / "batch.csv"
    batch.write_text("client_number\n1234567\n")
    for args in (
        ("import", "clients", str(batch)),
        ("invite", "batch", str(batch)),
        ("invite", "pending"),
        ("outbox", "list"),
        ("audit", "list"),
        ("audit", "verify"),
        ("diagnose", "--all"),
        ("user", "list"),
    ):
        refused = run(*PRACTITIONER, *args)
        assert refused.exit_code == 7, (args, refused.stderr)
        assert "role" in refused.stderr
    assert run(*TECHNICAL, "audit", "verify").exit_code == 0
    assert run(*TECHNICAL, "user", "list").exit_code == 7  # users are the admins' business


def test_a_practitioners_search_finds_only_their_clients_unless_they_give_a_reason(
    run: Callable[..., Any], client_number: str, session_factory: Any
) -> None:
    with session_factory.begin() as s:
        mine = visible_client(s, given="Mira", family="Visser").client_number
    assert run("care", "link", mine, "p.arts").exit_code == 0
    found = json.loads(run(*PRACTITIONER, "--format", "json", "client", "search", "visser").stdout)
    assert [h["client_number"] for h in found] == [mine]
    wider = run(*PRACTITIONER, "--format", "json", "client", "search", "visser", "--reason", "x")
    assert sorted(h["client_number"] for h in json.loads(wider.stdout)) == sorted(
        [mine, client_number]
    )
    assert _events(session_factory)[-1].break_glass is True
    everyone = json.loads(run(*TECHNICAL, "--format", "json", "client", "search", "visser").stdout)
    assert len(everyone) == 2


def test_users_are_managed_by_admins(run: Callable[..., Any], session_factory: Any) -> None:
    added = run("user", "add", "j.devries", "--role", "practitioner", "--name", "Jan de Vries")
    assert added.exit_code == 0, added.stderr
    users = json.loads(run("--format", "json", "user", "list").stdout)
    assert {
        k: v
        for k, v in next(u for u in users if u["username"] == "j.devries").items()
        if k in ("username", "role", "active")
    } == {"username": "j.devries", "role": "practitioner", "active": True}
    assert run("user", "add", "j.devries", "--role", "technical").exit_code == 6
    assert run("user", "add", "x", "--role", "boss").exit_code == 5
    assert run("user", "add", "two words", "--role", "admin").exit_code == 5
    assert run(*PRACTITIONER, "user", "add", "y", "--role", "admin").exit_code == 7
    assert run("user", "disable", "tester").exit_code == 6  # yourself
    assert run("user", "disable", "no.such").exit_code == 3
    assert _events(session_factory)[0].action == "user.add"


def test_care_links_are_for_practitioners_that_exist(
    run: Callable[..., Any], client_number: str
) -> None:
    assert run("care", "link", client_number, "t.helpdesk").exit_code == 5
    assert run("care", "link", client_number, "no.such").exit_code == 3
    backwards = run("care", "link", client_number, "p.arts", "--from", "2026-12-05",
                    "--until", "2026-12-01")  # fmt: skip
    assert backwards.exit_code == 5
    assert run(*PRACTITIONER, "care", "link", client_number, "p.arts").exit_code == 7


def test_acting_on_behalf_of_a_responsible_user_is_recorded(
    run: Callable[..., Any], client_number: str, session_factory: Any
) -> None:
    assert run(*TECHNICAL, "--on-behalf-of", "p.arts", "diagnose", client_number).exit_code == 0
    event = _events(session_factory)[-1]
    assert (event.user, event.on_behalf_of) == ("t.helpdesk", "p.arts")
    unknown = run(*TECHNICAL, "--on-behalf-of", "no.such", "diagnose", client_number)
    assert unknown.exit_code == 7


def test_the_audit_report_tells_the_client_who_looked_and_why(
    run: Callable[..., Any], client_number: str
) -> None:
    assert run("care", "link", client_number, "p.arts").exit_code == 0
    run(*PRACTITIONER, "diagnose", client_number)
    run(*TECHNICAL, "files", "list", client_number)
    run("--as", "p.arts", "client", "search", "visser")  # a search is no event of the client
    assert run("care", "unlink", client_number, "p.arts").exit_code == 0
    run(*PRACTITIONER, "client", "show", client_number, "--reason", "night shift, crisis")
    run(*PRACTITIONER, "client", "show", client_number)  # refused
    doc = json.loads(run("--format", "json", "audit", "report", client_number).stdout)
    lines = [(x["role"], x["data"], x["action"], x["outcome"]) for x in doc["lines"]]
    assert ("practitioner", "the check why you see no data in the portal", "looked at",
            "done") in lines  # fmt: skip
    assert ("technical support", "the parts of your file (list)", "looked at", "done") in lines
    glass = [x for x in doc["lines"] if x["break_glass"]]
    assert len(glass) == 1 and "night shift, crisis" in glass[0]["ground"]
    assert doc["lines"][-1]["outcome"] == "refused"
    assert [x["when"] for x in doc["lines"]] == sorted(x["when"] for x in doc["lines"])
    page = run("audit", "report", client_number, "--html").stdout
    assert page.startswith("<!DOCTYPE html>") and "@page" in page and "night shift" in page
    assert 'lang="nl"' in page and "zonder behandelrelatie, met deze reden" in page
    assert "Visser" in page and "<script" not in page
    table = run("audit", "report", client_number).stdout
    assert "on what ground" in table and "night shift, crisis" in table
    assert run(*PRACTITIONER, "audit", "report", client_number).exit_code == 7
    assert run("audit", "report", client_number, "--since", "31-02-2026").exit_code == 5


def test_the_html_report_escapes_what_it_shows(
    run: Callable[..., Any], session_factory: Any
) -> None:
    with session_factory.begin() as s:
        number = visible_client(s, given="<script>alert(1)</script>", family="O'Neil").client_number
    run("client", "show", number, "--reason", "<b>bold</b> & more")
    page = run("audit", "report", number, "--html").stdout
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<b>bold</b>" not in page


def test_import_clients_links_the_practitioners_it_names(
    run: Callable[..., Any], tmp_path: Any, session_factory: Any
) -> None:
    data = tmp_path / "clients.csv"
    data.write_text(
        "cliëntnummer;achternaam;in zorg sinds;behandelaar\n"
        "7700001;Visser;01-02-2024;p.arts\n"
        "7700002;Smit;01-02-2024;nobody.known|t.helpdesk\n"
        "7700003;Bakker;01-02-2024;\n"
    )
    result = run("--format", "json", "import", "clients", str(data))
    assert result.exit_code == 0, result.stderr
    warnings = json.dumps(json.loads(result.stdout))
    assert "'nobody.known' is no arkinctl practitioner" in warnings
    assert "'t.helpdesk' is no arkinctl practitioner" in warnings  # technical: none needed
    assert run(*PRACTITIONER, "diagnose", "7700001").exit_code in (0, 20)
    assert run(*PRACTITIONER, "diagnose", "7700002").exit_code == 7
    again = run("import", "clients", str(data))  # a re-import makes no second relationship
    assert again.exit_code == 0
    listed = json.loads(run("--format", "json", "care", "list", "7700001").stdout)
    assert [(r["username"], r["current"]) for r in listed] == [("p.arts", True)]


def test_import_fhir_links_practitioners_named_in_encounters_and_episodes(
    run: Callable[..., Any], tmp_path: Any
) -> None:
    def patient(pid: str, number: str) -> dict[str, Any]:
        return {
            "resourceType": "Patient",
            "id": pid,
            "identifier": [{"system": "urn:arkinctl:client-number", "value": number}],
            "name": [{"family": "Fhirsma", "given": ["Femke"]}],
            "birthDate": "1980-05-06",
        }

    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:p1", "resource": patient("p1", "7800001")},
            {"fullUrl": "urn:uuid:p2", "resource": patient("p2", "7800002")},
            {
                "resource": {
                    "resourceType": "Encounter",
                    "id": "e1",
                    "status": "finished",
                    "subject": {"reference": "urn:uuid:p1"},
                    "period": {"start": "2024-03-01"},
                    "participant": [
                        {"individual": {"reference": "Practitioner?identifier=urn:x|p.arts"}}
                    ],
                }
            },
            {
                "resource": {
                    "resourceType": "EpisodeOfCare",
                    "id": "c2",
                    "status": "active",
                    "patient": {"reference": "urn:uuid:p2"},
                    "period": {"start": "2024-03-01"},
                    "careManager": {"reference": "Practitioner/somebody-else"},
                }
            },
        ],
    }
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    result = run("--format", "json", "import", "fhir", str(path))
    assert result.exit_code == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["created"].get("care_relationship") == 1
    assert any("no arkinctl practitioner" in n for n in summary["notes"])
    numbers = {
        h["client_number"]
        for h in json.loads(run("--format", "json", "client", "search", "fhirsma").stdout)
    }
    linked = [n for n in numbers if json.loads(run("-f", "json", "care", "list", n).stdout)]
    assert len(linked) == 1
    assert run(*PRACTITIONER, "diagnose", linked[0]).exit_code in (0, 20)
    again = json.loads(run("--format", "json", "import", "fhir", str(path)).stdout)
    assert "care_relationship" not in again["created"]  # running it twice changes nothing


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("ticket", "open", "{n}", "-c", "account", "--title", "T", "-dMevrouw Visser belde"),
            "arkinctl ticket open --category --title --description",
        ),
        (
            ("-fjson", "client", "show", "{n}", "--reason", "-Visser 999990007"),
            "arkinctl client show --format --reason",
        ),
        (
            ("files", "list", "{n}", "--reason=-geboren 04-03-1985"),
            "arkinctl files list --reason",
        ),
    ],
)
def test_the_audit_command_names_options_but_never_their_values(
    run: Callable[..., Any],
    client_number: str,
    session_factory: Any,
    args: tuple[str, ...],
    expected: str,
) -> None:
    """Regression: values glued to a short option (`-dText`) or starting with `-` were
    stored in the trail as if they were option names."""
    run(*(a.format(n=client_number) for a in args))
    command = _events(session_factory)[-1].command or ""
    assert command.replace(" --db", "") == expected


def test_practitioners_follow_only_tickets_of_their_clients_or_their_own(
    run: Callable[..., Any], client_number: str, session_factory: Any
) -> None:
    """Regression: any practitioner could list, read and change every client's tickets."""
    opened = run("--format", "json", "ticket", "open", client_number, "-c", "account",
                 "--title", "Account blocked")  # fmt: skip
    number = json.loads(opened.stdout)["number"]
    assert run(*PRACTITIONER, "ticket", "show", number).exit_code == 7
    assert run(*PRACTITIONER, "ticket", "comment", number, "hallo").exit_code == 7
    assert run(*PRACTITIONER, "ticket", "close", number, "--resolution", "x").exit_code == 7
    listed = json.loads(run(*PRACTITIONER, "--format", "json", "ticket", "list").stdout)
    assert listed == []
    assert run("care", "link", client_number, "p.arts").exit_code == 0
    assert run(*PRACTITIONER, "ticket", "show", number).exit_code == 0
    assert len(json.loads(run(*PRACTITIONER, "-f", "json", "ticket", "list").stdout)) == 1
    assert run("ticket", "assign", number, "no.such.user").exit_code == 5
    assert run("ticket", "assign", number, "t.helpdesk").exit_code == 0


def test_refusals_say_nothing_about_other_clients(
    run: Callable[..., Any], client_number: str, session_factory: Any
) -> None:
    denied = run(*PRACTITIONER, "diagnose", client_number)
    assert denied.exit_code == 7 and client_number not in denied.stderr
    with session_factory.begin() as s:
        for given in ("Een", "Twee"):
            visible_client(s, given=given, family="Gezin", email="gezin@example.nl")
    ambiguous = run(*PRACTITIONER, "diagnose", "gezin@example.nl")
    assert ambiguous.exit_code == 4 and "Gezin" not in ambiguous.stderr
    assert "Gezin" in run("diagnose", "gezin@example.nl").stderr  # staff see the candidates


@pytest.mark.parametrize(
    "reason", ["   ", "belde over bsn 999990007", "x" * 501], ids=["blank", "bsn", "long"]
)
def test_a_reason_is_words_without_a_bsn(
    run: Callable[..., Any], client_number: str, reason: str
) -> None:
    result = run(*PRACTITIONER, "diagnose", client_number, "--reason", reason)
    assert result.exit_code == 5, result.stderr
    assert "999990007" not in result.stderr


def test_a_refused_listing_prints_nothing_on_stdout(run: Callable[..., Any]) -> None:
    for args in (("audit", "list"), ("invite", "pending"), ("ticket", "list")):
        for fmt in ("json", "csv"):
            result = run(*PRACTITIONER, "--format", fmt, *args)
            if args[0] != "ticket":
                assert result.exit_code == 7, args
                assert result.stdout == "", (args, fmt, result.stdout)


def test_user_names_are_visible_and_unique_whatever_the_case(run: Callable[..., Any]) -> None:
    assert run("user", "add", "P.ARTS", "--role", "technical").exit_code == 6
    for bad in ("\x1b[31mred", "x\u200by", "tab\there"):
        assert run("user", "add", bad, "--role", "technical").exit_code == 5
    assert run("user", "add", "ok.name", "--role", "technical", "--name", "x" * 201).exit_code == 5
    assert run("user", "add", "ok.name", "--role", "technical", "--name", "a\nb").exit_code == 5


def test_the_first_admin_is_an_audit_event_and_a_bad_name_creates_nothing(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from arkinctl.cli import app

    runner = CliRunner()
    bad = tmp_path / "bad.db"
    refused = runner.invoke(app, ["--db", str(bad), "--as", "two words", "db", "init"])
    assert refused.exit_code == 5 and not bad.exists()
    good = tmp_path / "good.db"
    assert (
        runner.invoke(app, ["--db", str(good), "--as", "first.admin", "db", "init"]).exit_code == 0
    )
    events = runner.invoke(
        app, ["--db", str(good), "--as", "first.admin", "--format", "json", "audit", "list"]
    )
    first = json.loads(events.stdout)[0]
    assert (first["action"], first["user"], first["object_id"]) == (
        "user.bootstrap", "first.admin", "first.admin",
    )  # fmt: skip
    assert "@" in first["host"]  # the operating-system account and the host


def test_an_import_never_reopens_a_relationship_an_admin_ended(
    run: Callable[..., Any], tmp_path: Any
) -> None:
    data = tmp_path / "clients.csv"
    data.write_text(
        "client_number,family_name,treated_since,practitioner\n7700011,Z,2024-01-01,p.arts\n"
    )
    assert run("import", "clients", str(data)).exit_code == 0
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert run("care", "link", "7700011", "p.arts", "--until", yesterday).exit_code == 0
    assert run("import", "clients", str(data)).exit_code == 0
    listed = json.loads(run("--format", "json", "care", "list", "7700011").stdout)
    assert [(r["username"], r["current"]) for r in listed] == [("p.arts", False)]
    assert run(*PRACTITIONER, "diagnose", "7700011").exit_code == 7


def test_two_admins_disabling_each_other_at_once_leave_one(session_factory: Any) -> None:
    """Regression (PostgreSQL, two sessions): both disables succeeded and nobody was left
    to manage users. The second now waits for the first, then is refused."""
    import threading

    from arkinctl.errors import ArkinError
    from arkinctl.services.access import create_user, set_user_active

    if session_factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite serialises whole write transactions (BEGIN IMMEDIATE)")
    with session_factory.begin() as s:  # tester and admin.b: the only two admins
        create_user(s, "admin.b", role="admin", display_name=None)
    first = session_factory()
    first.begin()
    set_user_active(first, "admin.b", active=False, by="tester")  # holds the admins' lock
    outcome: list[object] = []

    def second() -> None:
        with session_factory() as s2, s2.begin():
            try:
                set_user_active(s2, "tester", active=False, by="admin.b")
                outcome.append("disabled")
            except ArkinError as exc:
                outcome.append(exc)

    worker = threading.Thread(target=second)
    worker.start()
    worker.join(timeout=2)
    assert worker.is_alive(), "the second disable must wait for the first"
    first.commit()
    first.close()
    worker.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], ArkinError), outcome
    with session_factory() as s:
        from arkinctl.db.models import User

        active = s.scalars(select(User.username).where(User.role == "admin", User.active)).all()
    assert active == ["tester"]


def test_listings_filtered_by_an_ambiguous_reference_name_no_one_to_a_practitioner(
    run: Callable[..., Any], session_factory: Any
) -> None:
    """Regression: `ticket|invite|audit list --client` listed candidates' names before the
    role or relationship check."""
    with session_factory.begin() as s:
        for given in ("Geheime", "Andere"):
            visible_client(s, given=given, family="Naamdrager", email="samen@example.nl")
    for args in (("ticket", "list"), ("invite", "list"), ("audit", "list")):
        result = run(*PRACTITIONER, *args, "--client", "samen@example.nl")
        assert result.exit_code in (4, 7), (args, result.stderr)
        assert "Naamdrager" not in result.stderr + result.stdout, args


def test_user_names_differ_in_more_than_case_or_spelling(run: Callable[..., Any]) -> None:
    """Regression: on SQLite (whose lower() is ASCII only) ZOË.Y and zoë.y both went in."""
    assert run("user", "add", "ZOË.Y", "--role", "practitioner").exit_code == 0
    for same in ("zoë.y", "zoe\u0308.y", "ＺOË.Y"):
        assert run("user", "add", same, "--role", "practitioner").exit_code == 6, same
    assert run("user", "add", "straße", "--role", "technical").exit_code == 0
    assert run("user", "add", "STRASSE", "--role", "technical").exit_code == 6


def test_failed_attempts_are_named_for_what_they_were(
    run: Callable[..., Any], client_number: str, session_factory: Any
) -> None:
    assert run("client", "show", "7999999").exit_code == 3
    assert _events(session_factory)[-1].outcome == "not_found"
    assert run("client", "show", client_number, "--reason", "a\x1b[2Jb").exit_code == 5
    assert _events(session_factory)[-1].outcome == "refused"
    assert run("audit", "list", "--since", "5-12-2026", "--until", "1-12-2026").exit_code == 5
    assert run("audit", "report", client_number, "--since", "5-12-2026",
               "--until", "1-12-2026").exit_code == 5  # fmt: skip


def test_the_host_is_the_process_account_not_what_user_says(
    run: Callable[..., Any], client_number: str, session_factory: Any, monkeypatch: Any
) -> None:
    import pwd

    monkeypatch.setenv("USER", "fake@other\nx")
    monkeypatch.setenv("LOGNAME", "fake@other\nx")
    assert run("diagnose", client_number).exit_code == 0
    host = _events(session_factory)[-1].host or ""
    assert host.startswith(pwd.getpwuid(os.geteuid()).pw_name + "@") and "\n" not in host


def test_the_html_report_speaks_dutch_for_every_fixed_phrase() -> None:
    """The client reads Dutch (as in the invitation e-mail); a phrase added to the report
    without its Dutch form would show up in English."""
    from arkinctl.audit_html import DUTCH, dutch
    from arkinctl.services import audit_report

    phrases = {
        *audit_report.DATA.values(),
        *audit_report.BY_ACTION.values(),
        *audit_report.ACTIONS.values(),
        *audit_report.ROLES.values(),
        "tried to open it",
        "none: the attempt was refused",
        "care relationship (treatment)",
        "technical support for the portal",
        "application management",
        "done",
        "refused",
    }
    assert sorted(p for p in phrases if p not in DUTCH) == []
    glass = dutch("without a care relationship, for this reason: nachtdienst")
    assert glass == "zonder behandelrelatie, met deze reden: nachtdienst"
