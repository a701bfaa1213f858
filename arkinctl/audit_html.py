"""The client's audit overview as a standalone HTML page that prints well (A4, PDF-ready).

Plain HTML with inline CSS: it opens in any browser and "print to PDF" gives the letter a
client can be sent. In Dutch, like every other text a client gets from the care provider
(the command's table and JSON stay in English, for staff). Every value is escaped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from html import escape

from arkinctl.services.audit_report import ClientReport

_STYLE = """
@page { size: A4; margin: 18mm 15mm; }
body { font-family: "Segoe UI", Arial, sans-serif; font-size: 10.5pt; color: #111; }
h1 { font-size: 16pt; margin: 0 0 4pt; }
p.meta { color: #444; margin: 0 0 12pt; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ccc; padding: 4pt 6pt; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
tr { page-break-inside: avoid; }
td.glass { font-weight: bold; }
p.note { margin-top: 12pt; color: #444; font-size: 9pt; }
"""


# The report's fixed phrases (services/audit_report.py) as the client reads them.
DUTCH = {
    "your client record": "uw cliëntgegevens",
    "the parts of your file (list)": "de onderdelen van uw dossier (lijst)",
    "your citizen service number (BSN), shown in full": "uw burgerservicenummer (BSN), volledig",
    "your portal invitation": "uw uitnodiging voor het portaal",
    "whether your file is shared in the portal": "of uw dossier in het portaal gedeeld wordt",
    "your date of birth (check against the portal)": (
        "uw geboortedatum (vergeleken met het portaal)"
    ),
    "your date of birth (checked against the portal account)": (
        "uw geboortedatum (vergeleken met uw portaalaccount)"
    ),
    "the check why you see no data in the portal": (
        "de controle waarom u geen gegevens ziet in het portaal"
    ),
    "a support ticket about your portal access": "een melding over uw toegang tot het portaal",
    "who treats you (care relationship)": "wie u behandelt (behandelrelatie)",
    "this overview of who looked at your data": "dit overzicht van wie uw gegevens inzag",
    "your name, date of birth and e-mail, in a search result": (
        "uw naam, geboortedatum en e-mailadres, in een zoekresultaat"
    ),
    "an e-mail to you (the portal invitation)": "een e-mail aan u (de uitnodiging)",
    "your record, brought over from the care record system": (
        "uw gegevens, overgenomen uit het zorgdossier"
    ),
    "your data": "uw gegevens",
    "looked at": "ingezien",
    "created": "aangemaakt",
    "changed": "gewijzigd",
    "removed": "verwijderd",
    "found": "gevonden",
    "tried to open it": "probeerde in te zien",
    "practitioner": "behandelaar",
    "technical support": "technisch beheer",
    "administrator": "applicatiebeheer",
    "unknown": "onbekend",
    "none: the attempt was refused": "geen: de poging is geweigerd",
    "care relationship (treatment)": "behandelrelatie",
    "technical support for the portal": "technische ondersteuning van het portaal",
    "application management": "beheer van de toepassing",
    "done": "uitgevoerd",
    "refused": "geweigerd",
    "not_found": "niet gevonden",
    "error": "mislukt",
}
_GLASS = "without a care relationship, for this reason: "


def dutch(text: str) -> str:
    if text.startswith(_GLASS):
        return "zonder behandelrelatie, met deze reden: " + text[len(_GLASS) :]
    return DUTCH.get(text, text)


def render(report: ClientReport, tz: tzinfo, *, issued: datetime | None = None) -> str:
    since = report.since.astimezone(tz).strftime("%d-%m-%Y") if report.since else None
    # `until` is the first moment after the period: its last day is the day before
    last = (report.until - timedelta(microseconds=1)) if report.until else None
    until = last.astimezone(tz).strftime("%d-%m-%Y") if last else None
    if since or until:
        period = f"{since or 'het begin'} tot en met {until or 'vandaag'}"
    else:
        period = "alles wat is vastgelegd"
    issued = (issued or datetime.now(UTC)).astimezone(tz)
    glass = ' class="glass"'
    rows = "\n".join(
        "<tr>"
        f"<td>{escape(line.when.astimezone(tz).strftime('%d-%m-%Y %H:%M'))}</td>"
        f"<td>{escape(line.who)}</td><td>{escape(dutch(line.role))}</td>"
        f"<td>{escape(dutch(line.data))}</td><td>{escape(dutch(line.action))}</td>"
        f"<td{glass if line.break_glass else ''}>{escape(dutch(line.ground))}</td>"
        f"<td>{escape(dutch(line.outcome))}</td>"
        "</tr>"
        for line in report.lines
    )
    empty = (
        '<tr><td colspan="7">In deze periode heeft niemand uw gegevens '
        "ingezien of gewijzigd.</td></tr>"
    )
    return f"""<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8">
<title>Wie heeft uw gegevens ingezien: cliënt {escape(report.client_number)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>Wie heeft uw gegevens ingezien</h1>
<p class="meta">Cliënt {escape(report.client_number)}, {escape(report.name)} · periode: {period}
· {len(report.lines)} vastlegging(en) · gemaakt op {issued:%d-%m-%Y %H:%M} · tijden in
Nederlandse tijd ({escape(str(tz))})</p>
<table>
<thead><tr><th>Wanneer</th><th>Wie</th><th>Rol</th><th>Welke gegevens</th><th>Wat er gebeurde</th>
<th>Op grond waarvan</th><th>Resultaat</th></tr></thead>
<tbody>
{rows or empty}
</tbody></table>
<p class="note">Elke keer dat iemand met dit programma uw gegevens inziet of wijzigt, wordt
dat vastgelegd, en die vastlegging kan achteraf niet worden veranderd. "Zonder
behandelrelatie" betekent dat iemand die u niet behandelt uw dossier heeft geopend en
daarvoor een reden moest opgeven.</p>
</body></html>
"""
