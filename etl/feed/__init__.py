"""Live GPS feeds: MQTT, HTTP batches and (another module) JT/T 808 terminals, all
written through `ingest.ingest` — one transaction per batch, acknowledged after commit."""
