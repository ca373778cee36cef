# ucloud-image-exporter: slim Python base, non-root, configuration mounted at
# /etc/ucloud-image-exporter/config.yaml (keys best mounted as files next to it).
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY exporter ./exporter
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim
LABEL org.opencontainers.image.title="ucloud-image-exporter" \
      org.opencontainers.image.description="Prometheus exporter for UCloud image buckets" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin exporter
USER 10001
EXPOSE 9787
ENTRYPOINT ["ucloud-image-exporter"]
CMD ["--config.file=/etc/ucloud-image-exporter/config.yaml"]
