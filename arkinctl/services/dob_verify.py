"""`dob verify`: the record's, the portal's and the client's own date of birth side by side.

It only reports: the portal's date belongs to the client, and the record is corrected
through the care record system, never by this tool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from arkinctl.config import Settings
from arkinctl.db.models import Client
from arkinctl.errors import InvalidInputError
from arkinctl.services.audit import Actor
from arkinctl.services.client_state import AccountView, load_state
from arkinctl.services.dob import DESCRIPTIONS, classify_difference
from arkinctl.services.lookups import open_client


@dataclass(frozen=True)
class Comparison:
    left: str
    right: str
    equal: bool | None  # None: one side missing
    difference: str | None
    description: str | None


@dataclass(frozen=True)
class DobReport:
    client_number: str
    record: date | None
    record_partial: str | None
    portal: date | None
    portal_account: str | None
    claimed: date | None
    comparisons: list[Comparison]
    verdict: str  # match | mismatch | missing
    advice: str


def _compare(left: str, a: date | None, right: str, b: date | None) -> Comparison:
    if a is None or b is None:
        return Comparison(left, right, None, None, None)
    diff = classify_difference(a, b)
    return Comparison(left, right, diff is None, diff, DESCRIPTIONS[diff] if diff else None)


def verify_dob(client: Client, account: AccountView | None, claimed: date | None) -> DobReport:
    portal = account.birth_date if account else None
    comparisons = [_compare("record", client.birth_date, "portal", portal)]
    if claimed is not None:
        comparisons.append(_compare("claimed", claimed, "record", client.birth_date))
        comparisons.append(_compare("claimed", claimed, "portal", portal))
    main = comparisons[0]
    if main.equal is None:
        verdict = "missing"
        missing = []
        if client.birth_date is None:
            missing.append(
                "the record has only a partial date"
                if client.birth_date_partial
                else "the record has no date"
            )
        if account is None:
            missing.append("there is no portal account")
        elif portal is None:
            missing.append("the portal account has no date")
        advice = "Cannot compare: " + "; ".join(missing) + "."
    elif main.equal:
        verdict, advice = "match", "The record and the portal agree."
        if claimed is not None and not comparisons[1].equal:
            advice += " The date the client gave differs from both: check with the client."
    else:
        verdict = "mismatch"
        advice = _mismatch_advice(comparisons, claimed)
    return DobReport(
        client_number=client.client_number,
        record=client.birth_date,
        record_partial=client.birth_date_partial,
        portal=portal,
        portal_account=account.account_id if account else None,
        claimed=claimed,
        comparisons=comparisons,
        verdict=verdict,
        advice=advice,
    )


def _mismatch_advice(comparisons: list[Comparison], claimed: date | None) -> str:
    if claimed is None:
        return (
            "The dates differ. Ask the client for their date of birth and rerun with "
            "--claimed DATE to see which side is wrong."
        )
    claimed_vs_record, claimed_vs_portal = comparisons[1], comparisons[2]
    if claimed_vs_record.equal:
        return (
            "The client's date matches the record: the client corrects the date in the "
            "portal (My account)."
        )
    if claimed_vs_portal.equal:
        return (
            "The client's date matches the portal: the care record is wrong; have it "
            "corrected in the care record system (not by this tool)."
        )
    return (
        "The client's date matches neither side: check identity documents before changing anything."
    )


def verify_dob_for(
    session: Session, ref: str, *, claimed: date | None, settings: Settings, actor: Actor
) -> DobReport:
    if claimed is not None and claimed > datetime.now(settings.timezone).date():
        raise InvalidInputError("a date of birth cannot be in the future", hint="check --claimed")
    client = open_client(session, ref, actor=actor, action="dob.verify")
    state = load_state(session, client, settings=settings, now=datetime.now(UTC))
    return verify_dob(client, state.account, claimed)
