# One image for every service of docker-compose.yml: the apps, the carrier stub, Locust and the harness.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 MPLCONFIGDIR=/tmp/matplotlib
# The harness starts servers with the venv's own gunicorn/uvicorn/locust, found next to sys.executable.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app

# Dependencies first, so code edits do not reinstall them.
COPY pyproject.toml README.md ./
COPY shared_models/__init__.py shared_models/__init__.py
COPY fastapi_app/__init__.py fastapi_app/__init__.py
COPY flask_app/__init__.py flask_app/__init__.py
COPY bench/__init__.py bench/__init__.py
RUN pip install .

COPY . .
RUN pip install --no-deps -e . && mkdir -p /app/results
CMD ["python", "-m", "bench", "--help"]
