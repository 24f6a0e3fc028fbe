"""The daily report: the manuals' headcount and materials sheets and the day's rule violations,
as tables rendered to CSV and HTML."""
