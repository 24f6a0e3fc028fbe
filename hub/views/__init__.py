"""What people see of the hub: the wall display, the daily report, the closing sweep, the API, Home
Assistant.
"""
