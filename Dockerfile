# The service image. The plugins are built in the image (host/build.rs compiles every
# plugin crate for wasm32-unknown-unknown, the test suite's for wasm32-wasip2, during the
# host's build).
FROM rust:1.95-bookworm AS build
RUN rustup target add wasm32-unknown-unknown wasm32-wasip2
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p orderflow \
    && mkdir -p /out \
    && cp target/release/orderflow /out/ \
    && cp -r target/plugins /out/plugins

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app orderflow \
    && mkdir -p /data && chown orderflow /data
WORKDIR /app
COPY --from=build /out/orderflow /usr/local/bin/orderflow
COPY --from=build /out/plugins /app/plugins
COPY workflows /app/workflows
COPY catalog /app/catalog
ENV HOST=0.0.0.0 \
    PORT=8003 \
    DATA_DIR=/data \
    PLUGIN_DIR=/app/plugins \
    WORKFLOW_DIR=/app/workflows \
    CATALOG_FILE=/app/catalog/products.json
USER orderflow
EXPOSE 8003
VOLUME /data
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://localhost:8003/health || exit 1
CMD ["orderflow", "serve"]
