"""What a run keeps: the journal, tables and the nbgrader gradebook (records.py, gradebook.py).
Apart because the main process alone writes them."""
