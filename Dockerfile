# The analytics server: `analytics serve` on port 8000, storing in SQLite under /data by
# default (mount a volume there), or wherever ANALYTICS_DATABASE_URL points.
#
#   docker build -t fastapi-analytics .
#   docker run --rm -p 8000:8000 -v analytics-data:/data -e ANALYTICS_ADMIN_TOKEN=... fastapi-analytics
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install --no-cache-dir "uv>=0.5,<1"

WORKDIR /app

# Dependencies first: a change to the code then rebuilds only the last layers.
# (uv.lock is used when present in the build context; it is not committed.)
COPY pyproject.toml uv.lock* ./
RUN uv sync --no-dev --no-install-project

COPY README.md ./
COPY src ./src
RUN uv sync --no-dev

RUN useradd --system --uid 10001 --no-create-home analytics \
    && mkdir /data \
    && chown analytics /data
USER analytics

ENV PATH="/app/.venv/bin:${PATH}" \
    ANALYTICS_DATABASE_URL=sqlite:////data/analytics.db
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]

# Migrations run at start-up. Add `--workers N` for more processes (not with memory://).
CMD ["analytics", "serve", "--host", "0.0.0.0", "--port", "8000"]
