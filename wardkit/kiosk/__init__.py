"""The community-centre kiosk (docs/ARCHITECTURE.md#kiosk): enrolled kiosk devices, the
resident's turn on one, the ward's queue of tickets that officers serve, the kiosk's own
declarations that become drafts, and the help sessions at community houses.

Blueprints live in `views.py` (the kiosk device's screens), `guide.py` (installing
iHanoi), `queue_views.py` (the officers' queue and the hall's display),
`session_views.py` (help sessions) and `device_views.py` (enrolment); `create_app`
imports them.
"""
