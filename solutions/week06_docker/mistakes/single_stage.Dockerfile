# MISTAKE single_stage — the Dockerfile as one stage. pip, the build tools it pulled and
# everything the install left behind ship in the image; nothing separates build from run.
FROM python:3.11.10-slim-bookworm

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8000
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app \
 && python -m venv /opt/venv

WORKDIR /srv
COPY labs/week06_docker/requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt
COPY course/__init__.py course/target.py course/
COPY labs/__init__.py labs/
COPY labs/week02_fastapi/ labs/week02_fastapi/
COPY labs/week06_docker/__init__.py labs/week06_docker/settings.py labs/week06_docker/entrypoint.py \
     labs/week06_docker/
# Compile our modules now: the app user cannot write .pyc files at run time, so without this every
# start would compile them again.
RUN python -m compileall -q course labs

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-m", "labs.week06_docker.entrypoint", "healthcheck"]
ENTRYPOINT ["python", "-m", "labs.week06_docker.entrypoint"]
CMD ["api"]
