FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY cds_hooks ./cds_hooks
COPY mappings ./mappings
COPY service ./service
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT ["bone-health-cds"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
