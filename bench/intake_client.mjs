// The open-loop load client of bench/dispatch_intake.py, in Node.js: one process drives
// 300+ intakes/s on a fraction of a core, where a Python httpx client needs a core per ~100/s
// (and on a shared 2-core machine that core was the server's).
//
// Reads its job as JSON on stdin — {url, key, rate, seconds, resend, connections, seed, prefix,
// points: [[lon, lat], …]} — and writes one JSON line: latencies (ms, from each request's
// scheduled time), statuses, the distinct ticket ids sent, elapsed seconds and its own CPU.
// Open loop: request i is started at start + i/rate whether or not earlier ones finished;
// at most `connections` are on the wire (keep-alive Agent), the rest wait in its FIFO queue,
// and that wait counts as latency. No npm packages: built-in http only.
import http from 'node:http';

const job = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d) => { s += d; });
  process.stdin.on('end', () => resolve(s));
}));

// mulberry32: a seeded generator, so a run's tickets, re-sends and points repeat with --seed
let seed = job.seed >>> 0;
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

const CATEGORIES = ['河道污染', '环境卫生', '市政设施', '占道经营', '噪音扰民', '安全隐患'];
const target = new URL('/api/events', job.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: job.connections, maxFreeSockets: job.connections });
const total = Math.floor(job.rate * job.seconds);
const latencies = new Float64Array(total);
const statuses = {};
const sent = [];
let done = 0;
let next = 0;

function finish(i, t0, status) {
  latencies[i] = performance.now() - t0;
  statuses[status] = (statuses[status] || 0) + 1;
  done += 1;
  if (done === total) report();
}

function fire(i, t0) {
  let ext;
  if (sent.length && rand() < job.resend) ext = pick(sent);
  else { ext = `${job.prefix}-${String(i).padStart(7, '0')}`; sent.push(ext); }
  const [lon, lat] = pick(job.points);
  const body = JSON.stringify({ source: 'hotline_12345', external_id: ext, category: pick(CATEGORIES),
    description: 'bench', location: { lon, lat, crs: 'wgs84' }, reporter: { name: '测试', phone: '13000000000' } });
  const req = http.request(target, {
    method: 'POST', agent,
    headers: { Authorization: `Bearer ${job.key}`, 'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body) },
    timeout: 30000,
  }, (res) => {
    res.resume(); // the body is not needed; draining it frees the socket
    res.on('end', () => finish(i, t0, res.statusCode));
  });
  req.on('timeout', () => req.destroy(new Error('Timeout')));
  req.on('error', (e) => finish(i, t0, e.code || e.message)); // a starved server's timeout is a result
  req.end(body);
}

const start = performance.now();
const cpu0 = process.cpuUsage();
function tick() {
  const now = performance.now();
  while (next < total && start + (next * 1000) / job.rate <= now) {
    fire(next, start + (next * 1000) / job.rate); // latency counts from the scheduled time
    next += 1;
  }
  if (next < total) setTimeout(tick, Math.max(0, start + (next * 1000) / job.rate - performance.now()));
}

function report() {
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  process.stdout.write(JSON.stringify({
    prefix: job.prefix, latencies: Array.from(latencies, (x) => x / 1000), statuses,
    tickets: new Set(sent).size, elapsed, client_cpu_s: (cpu.user + cpu.system) / 1e6,
  }) + '\n');
}

if (total === 0) report(); else tick();
