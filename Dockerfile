# syntax=docker/dockerfile:1
#
# The Switchboard server in a small image: a static binary (no cgo), the CA roots,
# nothing else; it runs as an unprivileged user.
#
#   docker build --build-arg VERSION=v1.2.3 -t switchboard .
#   docker run --rm switchboard --help
#
# compose.yaml runs it with HTTPS and its ports; docs/deploy.md says how.
# cmd/switchboard TestStaticBinaryInEmptyRoot checks that a binary built as below
# starts in an empty root as that user.

FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Set by docker buildx for the platform asked (--platform linux/arm64); empty: the builder's.
ARG TARGETOS
ARG TARGETARCH
# What `switchboard version` prints: the context has no .git for Go to read.
ARG VERSION=unknown
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w -X main.version=$VERSION" -o /out/switchboard ./cmd/switchboard
# /data keeps the ACME account and certificates (and a self-signed certificate)
# across restarts; the server's user owns it.
RUN mkdir -p /out/data/tls && chmod 700 /out/data/tls

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/switchboard /switchboard
COPY --from=build --chown=65532:65532 /out/data /data
# distroless's "nonroot": no name needed, there is no /etc/passwd.
USER 65532:65532
# Every flag has its environment variable; these suit a container. Media uses one
# UDP port, so one port mapping serves every call.
ENV SWITCHBOARD_ADDR=:8080 \
    SWITCHBOARD_UDP_PORT=7882 \
    SWITCHBOARD_TLS_CACHE_DIR=/data/tls
VOLUME /data
EXPOSE 8080/tcp 7882/udp
ENTRYPOINT ["/switchboard"]
CMD ["serve"]
