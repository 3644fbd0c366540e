# akv-csi: one image for `driver …` and `provider azure …` (the chart picks the command).
# Build:  docker build -t akv-csi:dev --build-arg AKV_CSI_VERSION=v0.1.0 .

FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY proto ./proto
COPY src ./src
# One self-contained file: no node_modules in the runtime image. proto/ is read at
# runtime from beside the bundle (src/util/proto.ts).
RUN npx esbuild src/main.ts --bundle --platform=node --target=node22 --outfile=/out/main.js \
 && cp -r proto /out/proto \
 && node /out/main.js --help >/dev/null

# Slim Debian rather than distroless: the driver runs mount(8) and umount(8).
FROM node:22-bookworm-slim
ARG AKV_CSI_VERSION=v0.1.0
ARG AKV_CSI_BUILD_DATE=""
ENV NODE_ENV=production \
    AKV_CSI_VERSION=${AKV_CSI_VERSION} \
    AKV_CSI_BUILD_DATE=${AKV_CSI_BUILD_DATE}
WORKDIR /app
COPY --from=build /out/main.js /app/main.js
COPY --from=build /out/proto /app/proto
LABEL org.opencontainers.image.title="akv-csi" \
      org.opencontainers.image.description="Secrets Store CSI driver and Azure Key Vault provider" \
      org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ["node","/app/main.js"]
