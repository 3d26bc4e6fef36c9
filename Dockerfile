# One image recipe for all eight programs: docker build --build-arg PROGRAM=product -t goshop/product .
# Static binary (CGO off) on distroless, running as the nonroot user. `/app -healthcheck` probes the
# program's own /readyz, so compose healthchecks need no shell or curl in the image.
FROM golang:1.26 AS build
ARG PROGRAM
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY shared ./shared
COPY ${PROGRAM} ./${PROGRAM}
RUN test -n "${PROGRAM}" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/app ./${PROGRAM}

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/app /app
USER nonroot:nonroot
ENTRYPOINT ["/app"]
