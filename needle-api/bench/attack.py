#!/usr/bin/env python3
"""All of issue 15's attacks at once against a running `needle serve`, with probe requests
measuring what normal clients get. Loopback only; every loop is bounded in count and time.

    python3 needle-api/bench/attack.py --url http://127.0.0.1:8080 --pid PID --seconds 60 [--collection w]

Attackers connect from 127.0.0.2-127.0.0.5 (other "peers"); probes from 127.0.0.1, one search
every 50 ms on a new connection. The attacks, all at once:
  * slow bodies: --slow POSTs that send headers, then one body byte every 3 s;
  * silent connections: --silent sockets that send nothing (half of them HTTP/1, half an h2c
    preface and SETTINGS frame, then nothing), reconnecting 0.2 s after the server closes them;
  * timed-out batches: --heavy loops of 1,000-query exact batch searches (run the server with a
    short --request-timeout, e.g. 2, so they time out and must be cancelled);
  * amplified batches: --amplified loops alternating 1,000 queries x k=1,000 (over the default
    --max-batch-results: refused) and 100 queries x k=1,000 (100,000 hits: the largest allowed).
Needs a collection (--collection; `--setup` creates `bench`: 20,000 x 384 random vectors, flat
index). Prints the probe success rate, the attackers' statuses and the server's RSS (peak as
sampled every 0.5 s, and VmHWM, the kernel's high-water mark since the server started).
"""
import argparse, asyncio, json, os, random, struct, time, urllib.request

def rss_mib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0

# The HTTP/2 client preface and an empty SETTINGS frame: a connection that then goes silent.
H2C_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"

async def open_from(src, host, port):
    return await asyncio.open_connection(host, port, local_addr=(src, 0))

async def slow_bodies(host, port, coll, n, stop):
    async def one(i):
        while time.time() < stop:
            try:
                r, w = await open_from(f"127.0.0.{2 + i % 2}", host, port)
                w.write(f"POST /collections/{coll}/vectors HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{".encode())
                while time.time() < stop:
                    w.write(b" "); await w.drain(); await asyncio.sleep(3)
                    if r.at_eof(): break
                w.close()
            except Exception:
                await asyncio.sleep(0.5)
    await asyncio.gather(*(one(i) for i in range(n)))

async def silent(host, port, n, stop):
    held = []
    async def one(i):
        while time.time() < stop:
            try:
                r, w = await open_from(f"127.0.0.{4 + i % 2}", host, port)
                if i % 4 >= 2:
                    w.write(H2C_PREFACE)
                    await w.drain()
                held.append(w)
                # Until the server closes it. Bounded: a connect that overflowed the listen
                # backlog looks established here but is unknown to the server.
                await asyncio.wait_for(r.read(), max(0.1, stop - time.time()))
                w.close()
                await asyncio.sleep(0.2)
            except Exception:
                await asyncio.sleep(0.5)
    await asyncio.gather(*(one(i) for i in range(n)))

async def post_json(src, host, port, path, body, timeout=60):
    r, w = await open_from(src, host, port)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    w.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
    await w.drain()
    out = await asyncio.wait_for(r.read(), timeout)
    w.close()
    return int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/") else 0

def batch_body(n, dim, **params):
    return json.dumps({"vectors": [[random.random() for _ in range(dim)] for _ in range(n)], **params}).encode()

async def attack_loop(src, host, port, path, bodies, stop, statuses):
    i = 0
    while time.time() < stop:
        body = bodies[i % len(bodies)]
        i += 1
        try:
            s = await post_json(src, host, port, path, body, timeout=120)
        except Exception:
            s = 0
        statuses[s] = statuses.get(s, 0) + 1
        if s == 0:
            await asyncio.sleep(0.5)

async def probes(host, port, coll, dim, stop, tally):
    while time.time() < stop:
        q = [random.random() for _ in range(dim)]
        t0 = time.time()
        try:
            s = await post_json("127.0.0.1", host, port, f"/collections/{coll}/search", {"vector": q, "k": 10}, timeout=30)
        except Exception:
            s = 0
        tally.append((s, time.time() - t0))
        await asyncio.sleep(0.05)

def setup(url, n, dim):
    def post(path, body):
        req = urllib.request.Request(url + path, json.dumps(body).encode(), {"content-type": "application/json"})
        return urllib.request.urlopen(req, timeout=120).read()
    post("/collections", {"name": "bench", "dimensions": dim, "distance": "cosine", "index": "flat"})
    for start in range(0, n, 1000):
        post("/collections/bench/vectors/batch", {"vectors": [
            {"id": f"v{i}", "vector": [random.random() for _ in range(dim)]} for i in range(start, min(n, start + 1000))]})

async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--setup", action="store_true")
    ap.add_argument("--slow", type=int, default=300)
    ap.add_argument("--silent", type=int, default=2000)
    ap.add_argument("--heavy", type=int, default=2, help="concurrent loops of exact 1,000-query batches")
    ap.add_argument("--amplified", type=int, default=4, help="concurrent loops of k=1,000 batches")
    ap.add_argument("--collection", default="bench")
    a = ap.parse_args()
    host, port = a.url.split("//")[1].split(":")
    port = int(port)
    if a.setup:
        setup(a.url, 20000, a.dim)
    coll = a.collection
    rss0 = rss_mib(a.pid)
    # Bodies are made once: the attacker's CPU goes into sending them, not into json.dumps.
    heavy = [batch_body(1000, a.dim, k=10, strategy="exact", include_metadata=False)]
    amplified = [batch_body(1000, a.dim, k=1000), batch_body(100, a.dim, k=1000)]
    stop = time.time() + min(a.seconds, 600)
    tally, peak, heavy_st, amp_st = [], [rss0], {}, {}
    async def watch():
        while time.time() < stop:
            peak.append(rss_mib(a.pid)); await asyncio.sleep(0.5)
    batch = f"/collections/{coll}/search/batch"
    await asyncio.wait_for(asyncio.gather(slow_bodies(host, port, coll, a.slow, stop), silent(host, port, a.silent, stop),
                         *(attack_loop("127.0.0.2", host, port, batch, heavy, stop, heavy_st) for _ in range(a.heavy)),
                         *(attack_loop("127.0.0.3", host, port, batch, amplified, stop, amp_st) for _ in range(a.amplified)),
                         probes(host, port, coll, a.dim, stop, tally), watch(), return_exceptions=True),
                           a.seconds + 150)
    ok = sum(1 for s, _ in tally if s == 200)
    probe_st = {}
    for s, _ in tally:
        probe_st[s] = probe_st.get(s, 0) + 1
    lat = sorted(t for _, t in tally)
    print(json.dumps({"probes": len(tally), "ok": ok, "ok_ratio": ok / max(1, len(tally)), "probe_statuses": probe_st,
                      "probe_p50_ms": 1000 * lat[len(lat) // 2] if lat else None,
                      "probe_p99_ms": 1000 * lat[int(len(lat) * 0.99)] if lat else None,
                      "heavy_statuses": heavy_st, "amplified_statuses": amp_st,
                      "rss_before_mib": rss0, "rss_peak_mib": max(peak), "rss_after_mib": rss_mib(a.pid),
                      "vm_hwm_mib": rss_mib(a.pid, "VmHWM")}))

if __name__ == "__main__":
    asyncio.run(main())
