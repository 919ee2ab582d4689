"""OGC API - Tiles: tile matrix sets, MVT SQL and the routes."""
