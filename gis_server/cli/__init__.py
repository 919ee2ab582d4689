"""The `onemap` command: one module per subcommand group (after rasterio's rio/)."""
