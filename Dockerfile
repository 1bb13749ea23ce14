# stablegate in a container: a static binary on a distroless base, as a non-root user
# (docs/operations.md). Build: docker build -t stablegate --build-arg VERSION=$(git describe --always) .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=0.1.0-dev
# modernc.org/sqlite is pure Go: no cgo, so the binary is static and runs on a base without libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/stablegate ./cmd/stablegate \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/stablegate /usr/local/bin/stablegate
COPY --from=build --chown=65532:65532 /out/data /var/lib/stablegate
# Listen on every interface of the container; the data directory (SQLite, when no database is
# set) is a volume. The master key comes from a file mounted as a secret, never from the image.
ENV STABLEGATE_ADDR=0.0.0.0:8080 \
    STABLEGATE_DATA_DIR=/var/lib/stablegate \
    STABLEGATE_LOG_FORMAT=json
USER 65532:65532
EXPOSE 8080
VOLUME ["/var/lib/stablegate"]
# No shell or curl in the image: the binary asks its own /health (200 when healthy or degraded).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["/usr/local/bin/stablegate", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/stablegate"]
CMD ["serve"]
