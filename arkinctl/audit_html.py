"""The client's audit overview as a standalone HTML page that prints well (A4, PDF-ready).

Plain HTML with inline CSS: it opens in any browser and "print to PDF" gives the letter a
client can be sent. Every value is escaped.
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


def render(report: ClientReport, tz: tzinfo, *, issued: datetime | None = None) -> str:
    since = report.since.astimezone(tz).strftime("%d-%m-%Y") if report.since else None
    # `until` is the first moment after the period: its last day is the day before
    last = (report.until - timedelta(microseconds=1)) if report.until else None
    until = last.astimezone(tz).strftime("%d-%m-%Y") if last else None
    if since or until:
        period = f"{since or 'the beginning'} to {until or 'today'}"
    else:
        period = "everything recorded"
    issued = (issued or datetime.now(UTC)).astimezone(tz)
    glass = ' class="glass"'
    rows = "\n".join(
        "<tr>"
        f"<td>{escape(line.when.astimezone(tz).strftime('%d-%m-%Y %H:%M'))}</td>"
        f"<td>{escape(line.who)}</td><td>{escape(line.role)}</td>"
        f"<td>{escape(line.data)}</td><td>{escape(line.action)}</td>"
        f"<td{glass if line.break_glass else ''}>{escape(line.ground)}</td>"
        f"<td>{escape(line.outcome)}</td>"
        "</tr>"
        for line in report.lines
    )
    empty = '<tr><td colspan="7">Nobody looked at or changed your data in this period.</td></tr>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Who looked at your data: client {escape(report.client_number)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>Who looked at your data</h1>
<p class="meta">Client {escape(report.client_number)}, {escape(report.name)} · period: {period}
· {len(report.lines)} event(s) · made on {issued:%d-%m-%Y %H:%M} · times are local time
({escape(str(tz))})</p>
<table>
<thead><tr><th>When</th><th>Who</th><th>Role</th><th>What data</th><th>What was done</th>
<th>On what ground</th><th>Result</th></tr></thead>
<tbody>
{rows or empty}
</tbody></table>
<p class="note">Every time someone opens or changes your data with this tool it is recorded,
and the record cannot be changed afterwards. "Without a care relationship" means someone
who does not treat you opened your file, and had to say why.</p>
</body></html>
"""
