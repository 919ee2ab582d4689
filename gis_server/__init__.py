"""onemap's HTTP face and command line: settings, database, OGC API, health."""
