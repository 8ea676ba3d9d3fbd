"""Field kits and the ward hub (docs/ARCHITECTURE.md#sync): change capture (triggers made
in migrations/migrations.py), sealed bundles, the hub's apply and the kit's pull,
enrolment, and the Sync, Devices and Conflicts pages."""
