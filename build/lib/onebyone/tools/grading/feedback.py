"""The feedback page a student gets back: each test, its points, and the message of a failure.

Made from the result alone (the test's docstring and the check's message), never from a test
cell's code, so hidden tests stay hidden. Everything is escaped.
"""

import html

STYLE = """body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;
color:#1a1a1a}table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;
padding:.4rem;text-align:left;vertical-align:top}.passed{color:#0b6e4f}.failed{color:#9a3412}
.note{color:#444}"""


def page(result):
    """The feedback HTML for one graded submission."""
    e = html.escape
    rows = []
    for item in result.items:
        verdict = "passed" if item.passed else "failed"
        rows.append(
            f"<tr><td>{e(item.grade_id)}<br><span class='note'>{e(item.description)}"
            f"</span></td><td>{item.score:g} / {item.max_score:g}</td>"
            f"<td class='{verdict}'>{verdict}</td><td>{e(item.message)}</td></tr>")
    notes = "".join(f"<li>{e(note)}</li>" for note in result.notes if "\n" not in note)
    status = "" if result.normal else \
        f"<p><strong>Status: {e(str(result.status))}.</strong></p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Feedback: {e(result.assignment)} ({e(result.student)})</title>
<style>{STYLE}</style></head><body>
<h1>Feedback on {e(result.assignment)}</h1>
<p>Student: {e(result.student)}. Score: <strong>{result.score:g} / {result.max_score:g}
</strong>.</p>{status}
<table><thead><tr><th>test</th><th>points</th><th>result</th><th>message</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
{f'<h2>Notes</h2><ul>{notes}</ul>' if notes else ''}
</body></html>
"""
