# syntax=docker/dockerfile:1
#
# Escalating Reminders: one image for every role. The role is chosen at start:
#   docker run IMAGE                      -> --role all (the default CMD)
#   docker run IMAGE --role api           -> api only (likewise worker, scheduler)
#   docker run IMAGE migrate              -> apply the embedded migrations and exit
#
# No HEALTHCHECK here: the runtime image has no curl or wget, and the same image also runs the worker and
# scheduler roles, which serve no HTTP, so one image-wide probe would be wrong for them. The orchestrator
# checks health instead: Railway's healthcheckPath (/health) and the app healthcheck in docker-compose.yml.

############################
# Build stage
############################
FROM rust:1.95-bookworm AS builder
WORKDIR /build

# 1. Dependencies only, so this layer is reused until Cargo.toml or Cargo.lock changes.
#    A dummy lib and main (and a dummy core crate) stand in for the real sources.
COPY Cargo.toml Cargo.lock build.rs ./
COPY crates/reminder-core/Cargo.toml crates/reminder-core/
RUN mkdir -p src crates/reminder-core/src \
    && echo '' > src/lib.rs \
    && echo 'fn main() {}' > src/main.rs \
    && echo '' > crates/reminder-core/src/lib.rs \
    && cargo build --release --locked --package escalating-reminders \
    && rm -rf src crates/reminder-core/src

# 2. The real sources. Migrations are embedded in the binary at compile time, so they are needed here.
COPY src ./src
COPY crates ./crates
COPY migrations ./migrations
# Throw away the dummy crate's artifacts so the real one is rebuilt whatever the file timestamps say.
RUN cargo clean --release --package escalating-reminders --package reminder-core \
    && cargo build --release --locked --package escalating-reminders \
    && cp target/release/escalating-reminders /usr/local/bin/escalating-reminders

############################
# Runtime stage
############################
FROM debian:bookworm-slim AS runtime

# TLS uses rustls with the webpki roots compiled in; there is no OpenSSL or libpq to install.
# ca-certificates is kept for tooling and for CA files mounted next to it (PG_CA_FILE).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app \
    && chown app:app /app

COPY --from=builder /usr/local/bin/escalating-reminders /usr/local/bin/escalating-reminders

# The working directory is writable by the service user: in development, emails without SMTP go to
# ./outbox (EMAIL_OUTBOX_DIR).
WORKDIR /app
USER 10001:10001

ENV PORT=3801 \
    LOG_FORMAT=json
EXPOSE 3801

# The binary is PID 1 and handles SIGTERM itself (drains for up to SHUTDOWN_GRACE_SECS).
ENTRYPOINT ["/usr/local/bin/escalating-reminders"]
CMD ["--role", "all"]
