"""Live GPS feeds (MQTT, HTTP batches, JT/T 808 terminals) into the positions table."""
