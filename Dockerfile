# agent-audit in a small image (see docs/running-at-scale.md).
#
#   docker build --target runtime -t agent-audit:0.1.0 .      # binary only (Kubernetes
#                                                             # mounts /config from a ConfigMap)
#   docker build -t agent-audit:0.1.0-batch .                 # plus deploy/ and the example
#                                                             # scripts and policies in /config
#                                                             # (AWS Batch has no ConfigMaps)

# Build the shipped profile (fully optimised, with thin LTO, see Cargo.toml), on the
# Debian release the runtime image uses.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --profile dist --locked

# The binary, CA certificates for HTTPS to S3, and an unprivileged user.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin audit
COPY --from=build /src/target/dist/agent-audit /usr/local/bin/agent-audit
COPY --from=build /src/THIRD-PARTY-NOTICES.md /usr/share/doc/agent-audit/
USER 10001
ENTRYPOINT ["agent-audit"]

# The same, with the configuration laid out as the Kubernetes Job mounts it.
FROM runtime AS batch
COPY deploy/batch.toml deploy/agent-audit.toml /config/
COPY scripts/custom-statuses.toml scripts/break-as-one.rhai /config/scripts/
COPY policies/users.toml policies/compliance.rhai /config/policies/
ENTRYPOINT []
