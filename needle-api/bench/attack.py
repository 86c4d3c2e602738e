#!/usr/bin/env python3
"""All of issue 15's attacks at once against a running `needle serve`, with probe requests
measuring what normal clients get. Loopback only; every loop is bounded in count and time.

    python3 needle-api/bench/attack.py --url http://127.0.0.1:8080 --pid PID --seconds 60

Attackers connect from 127.0.0.2-127.0.0.5 (other "peers"); probes from 127.0.0.1. Needs a
collection `bench` (created with --setup: 20,000 x 384 random vectors, flat index so batch
searches are slow enough to time out). Prints probe success rate and the server's RSS.
"""
import argparse, asyncio, json, os, random, struct, time, urllib.request

def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

async def open_from(src, host, port):
    return await asyncio.open_connection(host, port, local_addr=(src, 0))

async def slow_bodies(host, port, n, stop):
    async def one(i):
        while time.time() < stop:
            try:
                r, w = await open_from(f"127.0.0.{2 + i % 2}", host, port)
                w.write(f"POST /collections/bench/vectors HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{".encode())
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
                held.append(w)
                await r.read()  # until the server closes it
            except Exception:
                await asyncio.sleep(0.5)
    await asyncio.gather(*(one(i) for i in range(n)))

async def post_json(src, host, port, path, body, timeout=60):
    r, w = await open_from(src, host, port)
    data = json.dumps(body).encode()
    w.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
    await w.drain()
    out = await asyncio.wait_for(r.read(), timeout)
    w.close()
    return int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/") else 0

async def heavy_batches(host, port, dim, stop):
    while time.time() < stop:
        qs = [[random.random() for _ in range(dim)] for _ in range(1000)]
        try:
            await post_json("127.0.0.2", host, port, "/collections/bench/search/batch", {"vectors": qs, "k": 10, "strategy": "exact"})
        except Exception:
            await asyncio.sleep(0.5)

async def amplified(host, port, dim, stop):
    while time.time() < stop:
        qs = [[random.random() for _ in range(dim)] for _ in range(1000)]
        try:
            await post_json("127.0.0.3", host, port, "/collections/bench/search/batch", {"vectors": qs, "k": 1000})
        except Exception:
            await asyncio.sleep(0.5)

async def probes(host, port, dim, stop, tally):
    while time.time() < stop:
        q = [random.random() for _ in range(dim)]
        t0 = time.time()
        try:
            s = await post_json("127.0.0.1", host, port, "/collections/bench/search", {"vector": q, "k": 10}, timeout=30)
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
    a = ap.parse_args()
    host, port = a.url.split("//")[1].split(":")
    port = int(port)
    if a.setup:
        setup(a.url, 20000, a.dim)
    rss0 = rss_mib(a.pid)
    stop = time.time() + min(a.seconds, 600)
    tally, peak = [], [rss0]
    async def watch():
        while time.time() < stop:
            peak.append(rss_mib(a.pid)); await asyncio.sleep(0.5)
    await asyncio.gather(slow_bodies(host, port, a.slow, stop), silent(host, port, a.silent, stop),
                         heavy_batches(host, port, a.dim, stop), amplified(host, port, a.dim, stop),
                         probes(host, port, a.dim, stop, tally), watch(), return_exceptions=True)
    ok = sum(1 for s, _ in tally if s == 200)
    lat = sorted(t for _, t in tally)
    print(json.dumps({"probes": len(tally), "ok": ok, "ok_ratio": ok / max(1, len(tally)),
                      "probe_p50_ms": 1000 * lat[len(lat) // 2] if lat else None,
                      "probe_p99_ms": 1000 * lat[int(len(lat) * 0.99)] if lat else None,
                      "rss_before_mib": rss0, "rss_peak_mib": max(peak), "rss_after_mib": rss_mib(a.pid)}))

if __name__ == "__main__":
    asyncio.run(main())
