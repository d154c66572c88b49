# syntax=docker/dockerfile:1
# release-tool in a container, for the old containerized CI flow (generate-units, pull-images,
# manage-services run as steps of a pipeline). On a host, prefer the .deb/.rpm: the generator and
# the deploy units need no container. Mounts each command needs: README.md, "Running in a container".
#
#   podman build -t release-tool .
#   podman run --rm -v "$PWD:/repo:ro" -v "$PWD/units:/units" release-tool \
#       generate-units --services-dir /repo/services --output-dir /units
#
# Both base images are arguments so a mirror (or a locally built image) can stand in for them.
ARG RUST_IMAGE=docker.io/library/rust:1-slim-trixie
ARG RUNTIME_IMAGE=docker.io/library/debian:trixie-slim

FROM ${RUST_IMAGE} AS build
WORKDIR /src
# The whole context (see .dockerignore): Cargo.toml names its test and bench targets, and cargo
# refuses a manifest whose targets are missing.
COPY . .
RUN cargo build --release --locked \
    && install -D -m 0755 target/release/release-tool /out/usr/bin/release-tool \
    && /out/usr/bin/release-tool --version

FROM ${RUNTIME_IMAGE}
# podman-remote talks to the host's Podman service through its socket (pull-images); systemctl
# talks to the host user's systemd manager through its bus (manage-services). Nothing else.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates podman-remote systemd \
    && apt-get clean && rm -rf /var/lib/apt/lists/* \
    && ln -s /usr/bin/podman-remote /usr/local/bin/podman
COPY --from=build /out/usr/bin/release-tool /usr/bin/release-tool
COPY LICENSE /usr/share/doc/release-tool/LICENSE
# Where the mounts go by default: the host's Podman socket, and the checkout.
ENV CONTAINER_HOST=unix:///run/podman/podman.sock
# The checkout is mounted at /repo: the default --repo inside the image (outside, ~/release-tool-repo).
ENV RELEASE_TOOL_REPO=/repo
WORKDIR /repo
ENTRYPOINT ["/usr/bin/release-tool"]
CMD ["--help"]
