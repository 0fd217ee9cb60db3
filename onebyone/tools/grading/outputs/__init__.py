"""What people read: feedback pages, the class report and its chart, the outline and the progress
bar (feedback.py, pages.py, report.py, chart.py, outline.py, progress.py). Apart because nothing
in grading depends on them."""
