# syntax=docker/dockerfile:1
#
# tessera-lb image: docs/containers.md says how to run it and which capabilities and limits matter.
#
#   docker build -t tessera-lb .
#   docker run --rm --stop-timeout 35 -e TESSERA_LB_NODES=10.0.0.11:tessera-1,10.0.0.12:tessera-2 \
#       -p 9000:9000 -p 127.0.0.1:9080:9080 -p 127.0.0.1:9101:9101 tessera-lb
#
# Build stage: the official Swift image for Debian 12 (bookworm). Package.swift needs tools version 6.2 or
# later. The runtime stage is the same Debian release, so the glibc and liburing the binary was linked
# against are the ones it runs with.
ARG SWIFT_IMAGE=swift:6.2-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
# liburing-dev: CShims links liburing (scripts/install-deps build). Not in the stock Swift images.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends liburing-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The manifest (and Package.resolved, when the build context has one) first, so that a change to the
# sources does not fetch the dependencies again.
COPY Package.* ./
RUN swift package resolve
COPY . .
# The one release build (--static-swift-stdlib): the script bench/ calls, whose output the container tests run
# on (TESSERA_LB_TEST_BINARY). It prints the binary's path on its last line. Debug information is stripped
# from the image's copy (about 40 MB); symbols stay, for crash backtraces.
RUN out="$(scripts/build-release)" \
    && bin="$(printf '%s\n' "$out" | tail -n 1)" \
    && install -D -m 0755 "$bin" /out/tessera-lb \
    && strip --strip-debug /out/tessera-lb

FROM ${RUNTIME_IMAGE}
# The packages of the libraries the binary links (ldd): libc6 (libc, libm, the loader), libgcc-s1, libstdc++6
# and zlib1g, which the base already has, and liburing2, which it has not. The Swift runtime and Foundation are
# linked in statically. ca-certificates: the system trust store the health probe uses over HTTPS when no CA
# file is given (health.tls without caFile).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libc6 libgcc-s1 libstdc++6 zlib1g liburing2 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/tessera-lb /usr/local/bin/tessera-lb
# A fixed numeric user, so that Kubernetes' runAsNonRoot can check it without a runAsUser.
RUN groupadd --system --gid 10001 tessera-lb \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin tessera-lb
USER 10001:10001

# Configuration comes from the environment alone (docs/configuration.md#environment-variables): at least
# TESSERA_LB_NODES. Listen on every address of the container.
ENV TESSERA_LB_LISTEN=0.0.0.0
# P2P, ThirdParty and Q2T (the default services), and the admin listener (/healthz, /readyz, /status,
# /metrics). The admin listener binds 127.0.0.1:9990 unless TESSERA_LB_ADMIN (--admin) says otherwise; off
# loopback it needs TESSERA_LB_ADMIN_TOKEN.
EXPOSE 9000 9080 9101 9990

# Exit 0 while the balancer in this container serves and at least one node is up. It asks the admin listener,
# at TESSERA_LB_ADMIN or 127.0.0.1:9990, inside the container.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["tessera-lb", "health"]

# SIGTERM: stop accepting, let open connections finish for up to --drain-timeout (30 s), exit 0. Give the
# container longer than that to stop: docker run --stop-timeout 35, compose stop_grace_period: 35s,
# Kubernetes terminationGracePeriodSeconds.
STOPSIGNAL SIGTERM
CMD ["tessera-lb", "run"]
