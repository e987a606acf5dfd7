# MISTAKE upgrade_pip_first — pip is upgraded first, but the whole context is still copied before
# the requirements are installed: any edit reinstalls every dependency.
# syntax=docker/dockerfile:1
# The week-02 service as a production image. Build from the repository root:
#   docker build -f labs/week06_docker/Dockerfile -t semester-api .
# Beside this file, Dockerfile.dockerignore decides what of the repository the build can see.

# ---- builder: compilers, pip and caches live here and never ship -------------------------------
# An exact tag, never `latest`: the same Dockerfile builds the same base next month. For fully
# reproducible builds append the digest: python:3.11.10-slim-bookworm@sha256:<digest>.
FROM python:3.11.10-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# Dependencies first, alone: this layer and the slow install below are rebuilt only when the
# requirements change, not on every edit to the source.
RUN pip install --no-cache-dir --upgrade pip==24.2
COPY . /src
RUN pip install --no-cache-dir -r /src/labs/week06_docker/requirements.txt

# ---- runtime: the slim base, the virtualenv, the code, an unprivileged user ---------------------
FROM python:3.11.10-slim-bookworm AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8000
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app

WORKDIR /srv
COPY --from=builder /opt/venv /opt/venv
# Source last: it changes most often, so it gets the top layer. Only the code the service runs.
COPY course/__init__.py course/target.py course/
COPY labs/__init__.py labs/
COPY labs/week02_fastapi/ labs/week02_fastapi/
COPY labs/week06_docker/__init__.py labs/week06_docker/settings.py labs/week06_docker/entrypoint.py \
     labs/week06_docker/
# Compile our modules now: the app user cannot write .pyc files at run time, so without this every
# start would compile them again.
RUN python -m compileall -q course labs

# Files stay owned by root and read-only to the app: a compromised process cannot rewrite its code.
USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-m", "labs.week06_docker.entrypoint", "healthcheck"]

# Exec form: python is PID 1 and receives `docker stop`'s SIGTERM itself (a shell would not pass it on).
ENTRYPOINT ["python", "-m", "labs.week06_docker.entrypoint"]
CMD ["api"]
