# syntax=docker/dockerfile:1
#
# tessera-lb image: docs/containers.md says how to run it and which capabilities and limits matter.
#
#   docker build -t tessera-lb .
#   scripts/build-image          # with podman, without a registry: local base, prebuilt binary (docs/containers.md)
#   docker run --rm --stop-timeout 35 -e TESSERA_LB_NODES=10.0.0.11:tessera-1,10.0.0.12:tessera-2 \
#       -p 9000:9000 -p 127.0.0.1:9080:9080 -p 127.0.0.1:9101:9101 tessera-lb
#
# Build stage: the official Swift image for Debian 12 (bookworm). Package.swift needs tools version 6.2 or
# later. The runtime stage is the same Debian release, so the glibc and liburing the binary was linked
# against are the ones it runs with.
ARG SWIFT_IMAGE=swift:6.2-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim
# Where the binary comes from: "build", the stage below (the default), or "prebuilt", the file tessera-lb at the
# top of the build context, made by scripts/build-release (scripts/build-image passes it, where no Swift image
# can be pulled). Only the stage named here is built: the other is skipped, its base image never pulled.
ARG BINARY_FROM=build

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

# The binary scripts/build-release made, debug information already stripped (scripts/build-image).
FROM scratch AS prebuilt
COPY tessera-lb /out/tessera-lb

FROM ${BINARY_FROM} AS binary

# The runtime's files. The packages of the libraries the binary links (ldd): libc6 (libc, libm, the loader),
# libgcc-s1, libstdc++6 and zlib1g, which the base already has, and liburing2, which it has not. The Swift
# runtime and Foundation are linked in statically. ca-certificates: the system trust store the health probe uses
# over HTTPS when no CA file is given (health.tls without caFile). Each package's own files (dpkg -L) are copied
# into /rootfs, Debian 12's merged /usr, and nothing else: no shell, no apt, no dpkg, so the image is the binary
# and about 15 MB (docs/containers.md).
FROM ${RUNTIME_IMAGE} AS runtime-root
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libc6 libgcc-s1 libstdc++6 zlib1g liburing2 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN set -e; \
    mkdir -p /rootfs/etc/ssl /rootfs/tmp /rootfs/usr/bin /rootfs/usr/sbin /rootfs/usr/lib /rootfs/usr/lib64 /rootfs/usr/local/bin; \
    chmod 1777 /rootfs/tmp; \
    for d in bin sbin lib lib64; do ln -s "usr/$d" "/rootfs/$d"; done; \
    dpkg -L libc6 libgcc-s1 libstdc++6 zlib1g liburing2 ca-certificates | while IFS= read -r path; do \
        if [ -L "$path" ] || [ -f "$path" ]; then mkdir -p "/rootfs$(dirname "$path")"; cp -a "$path" "/rootfs$path"; fi; \
    done; \
    # The trust store update-ca-certificates made when the package was installed (not a file of the package).
    cp -a /etc/ssl/certs /rootfs/etc/ssl/certs; \
    # A fixed numeric user, so that Kubernetes' runAsNonRoot can check it without a runAsUser.
    printf 'root:x:0:0:root:/root:/usr/sbin/nologin\ntessera-lb:x:10001:10001::/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > /rootfs/etc/passwd; \
    printf 'root:x:0:\ntessera-lb:x:10001:\nnogroup:x:65534:\n' > /rootfs/etc/group

FROM scratch
COPY --from=runtime-root /rootfs/ /
# Last, so that a new binary rebuilds only this layer.
COPY --from=binary /out/tessera-lb /usr/local/bin/tessera-lb
ENV PATH=/usr/local/bin:/usr/bin:/bin
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
