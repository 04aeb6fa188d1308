# One image for every role: web, worker, beat and migrations differ only by command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BROADSHEET_INSTANCE=/app/instance

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY broadsheet ./broadsheet
COPY web ./web
COPY worker ./worker
COPY cli ./cli
COPY templates ./templates
COPY migrations ./migrations
# Editable install: templates/ and migrations/ are read from /app at run time.
RUN pip install --no-cache-dir -e . \
    && useradd --create-home --uid 1000 broadsheet \
    && mkdir -p /app/instance && chown broadsheet /app/instance
USER broadsheet

EXPOSE 5000
CMD ["broadsheet", "web", "--host", "0.0.0.0"]
