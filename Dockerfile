# syntax=docker/dockerfile:1
# The datainfra API image: `docker compose up` (see compose.yaml) runs it beside PostgreSQL and Neo4j.
# Stage 1 builds the project's wheel and every dependency's wheel into a virtualenv; stage 2 copies
# only that virtualenv into a slim runtime, so no compiler, pip cache, test dependency or source tree
# ships. The stores are never started inside this container: DATAINFRA_LOCAL_STORES=false makes a
# missing DATAINFRA_DATABASE_URL / DATAINFRA_NEO4J_URI a start-up error instead.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml ./
COPY src ./src
# Runtime dependencies only (no [dev] extra): the image holds no test tooling.
RUN python -m pip wheel --wheel-dir /wheels . \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links=/wheels datainfra

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="datainfra" \
      org.opencontainers.image.description="Multi-tenant data infrastructure as a service: tabular datasets in PostgreSQL, graphs in Neo4j."
RUN groupadd --system --gid 10001 datainfra \
    && useradd --system --uid 10001 --gid datainfra --no-create-home --home-dir /var/lib/datainfra datainfra \
    && install -d -o datainfra -g datainfra -m 0750 /var/lib/datainfra
COPY --from=build /opt/venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATAINFRA_HOST=0.0.0.0 \
    DATAINFRA_PORT=8000 \
    DATAINFRA_DATA_DIR=/var/lib/datainfra \
    DATAINFRA_LOG_FORMAT=json \
    DATAINFRA_LOCAL_STORES=false
USER 10001:10001
WORKDIR /var/lib/datainfra
EXPOSE 8000
# The slim image has no curl: the probe is Python's standard library (exit 1 on any failure).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; sys.exit(0 if u.urlopen('http://127.0.0.1:%s/health' % os.environ.get('DATAINFRA_PORT', '8000'), timeout=3).status == 200 else 1)"]
# Uvicorn answers SIGTERM by refusing new connections and finishing in-flight requests for up to
# DATAINFRA_SHUTDOWN_TIMEOUT_S; compose's stop_grace_period is longer than that.
STOPSIGNAL SIGTERM
# The same command `make run` uses.
CMD ["python", "-m", "datainfra"]
