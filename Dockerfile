FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY cds_hooks ./cds_hooks
COPY mappings ./mappings
COPY service ./service
RUN pip install --no-cache-dir .
# Local state (beat's schedule file) lives where the unprivileged user may write, not under /app.
ENV BHCDS_STATE_DIR=/var/lib/bone-health-cds
RUN mkdir -p /var/lib/bone-health-cds && chown nobody /var/lib/bone-health-cds
USER nobody
# 8080: the API (the EHRs' port); 9090: /metrics when BHCDS_METRICS_PORT=9090 (keep it internal)
EXPOSE 8080 9090
ENTRYPOINT ["bone-health-cds"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
