# Needle HTTP server image: `docker build -t needle .` then
# `docker run -p 8080:8080 -v needle_data:/data needle` (or `docker compose up`).

# --- build stage: the release binary with the `server` feature (rustls: no OpenSSL needed).
FROM rust:1-slim-bookworm AS builder

WORKDIR /app
COPY . .
RUN cargo build --release -p needle --features server \
 && strip target/release/needle

# --- runtime stage: the binary, a non-root user, the /data volume.
FROM debian:bookworm-slim

# curl only serves the health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 needle \
 && useradd --system --uid 10001 --gid needle --home-dir /data --no-create-home --shell /usr/sbin/nologin needle \
 && mkdir -p /data \
 && chown needle:needle /data

COPY --from=builder /app/target/release/needle /usr/local/bin/needle

USER needle:needle
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
ENV RUST_LOG=needle=info

# /health needs no API key, so the check works with keys set too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/health || exit 1

# SIGTERM (docker stop): stop accepting, finish in-flight requests, checkpoint, exit 0.
STOPSIGNAL SIGTERM
CMD ["needle", "serve", "-a", "0.0.0.0:8080", "-d", "/data/vectors.needle"]
