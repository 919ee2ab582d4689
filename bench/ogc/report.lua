-- wrk script: print one machine-readable summary line (latency percentiles in µs).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "status": %d, "timeout": %d, '
      .. '"connect": %d, "read": %d, "write": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.status, e.timeout,
    e.connect, e.read, e.write,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
