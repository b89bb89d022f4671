"""Report: charts, HTML/Markdown report and run-to-run comparison, read from the analysis."""
