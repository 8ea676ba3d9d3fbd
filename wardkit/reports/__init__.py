"""The daily report to the city police (docs/ARCHITECTURE.md#reports): the figures
(`figures.py`, shared with /progress), the locked morning snapshot and its revisions
(`snapshots.py`), its PDF, XLSX and city file, the official iHanoi account list, and the
city's roll-up of the wards' files."""
