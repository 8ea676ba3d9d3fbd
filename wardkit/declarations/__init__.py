"""Assisted licence and vehicle declarations (issue 4).

`workflow.py` is the state machine as data; `queries.py` the SQL and the actions (each opens
its own transaction and records its audit row); `plates.py` and `licences.py` the field
checks `forms.py` runs; `export.py` the file for the traffic police; `views.py` the
officer's tablet form and `review_views.py` the leader's list, review and export.
"""
