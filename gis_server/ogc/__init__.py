"""The OGC API (pygeoapi mounted at /ogc) with onemap's own provider, SQL builders and checks."""
