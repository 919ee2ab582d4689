"""Live vehicles on the server side: the feed's settings, HTTP batches, the SSE stream."""
