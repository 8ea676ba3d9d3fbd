"""Assisted licence and vehicle declarations (issue 4): the data layer and workflow.

`queries.py` holds the SQL, `workflow.py` the state machine as data. Views come later.
"""
