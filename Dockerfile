# syntax=docker/dockerfile:1
# trailaudit in a small image: the `dist` build (LTO, stripped; BENCHMARKS.md, "Binary size") on
# Debian slim, run as a non-root user on evidence mounted at /evidence:
#
#   docker build --build-arg TRAILAUDIT_COMMIT="$(git rev-parse HEAD)" -t trailaudit .
#   docker run --rm -v "$PWD/evidence:/evidence:ro" -v "$PWD/report:/report" \
#     --user "$(id -u):$(id -g)" trailaudit audit /evidence --format html,json,md,sarif -o /report
#
# The build stage is the official Rust image at Cargo.toml's rust-version (tests/it/packaging.rs
# holds them equal) and on the same Debian release as the runtime stage, whose glibc the binary
# links (with libgcc_s and libm; nothing else). Debian slim rather than a distroless base: CI
# systems that run a job inside the image (a GitHub `container:` job, GitLab CI) need a shell.
ARG RUST_VERSION=1.94.1
ARG DEBIAN_RELEASE=trixie

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
# The context has no .git: reports state the commit given here (else "unknown").
ARG TRAILAUDIT_COMMIT=unknown
ENV TRAILAUDIT_COMMIT=${TRAILAUDIT_COMMIT}
WORKDIR /src
# The build context is the crate's package: .dockerignore lets through only what it includes.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --profile dist --locked --bin trailaudit \
    && cp target/dist/trailaudit /usr/local/bin/trailaudit

FROM debian:${DEBIAN_RELEASE}-slim
# `collect` reaches AWS over TLS and trusts the system's roots: the build stage's bundle.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /usr/local/bin/trailaudit /usr/local/bin/trailaudit
COPY LICENSE /usr/share/doc/trailaudit/LICENSE
RUN groupadd --system --gid 10001 trailaudit \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin trailaudit
USER 10001:10001
WORKDIR /evidence
ENTRYPOINT ["trailaudit"]
CMD ["--help"]
