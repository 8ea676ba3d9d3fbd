"""Residential groups (tổ dân phố / thôn) of the user's ward and their adult targets."""
