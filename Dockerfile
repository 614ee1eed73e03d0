# The service image, built from the hub's wheel: the build stage makes the wheel and a
# virtualenv from it with no index; the final stage is that virtualenv on a slim Python
# and a non-root user. The RUN lines call deploy/image/*.sh, which tests/test_package.py runs
# with the same arguments (no Docker engine is needed to test them).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY workers ./workers
COPY deploy/image/build-wheels.sh deploy/image/install.sh /usr/local/bin/
RUN build-wheels.sh /src /wheels
RUN install.sh /wheels /opt/hub

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --user-group hub
COPY --from=build /opt/hub /opt/hub
# Production by default: the hub refuses to start until HUB_SECRET_KEY is a real secret.
ENV PATH=/opt/hub/bin:$PATH PYTHONUNBUFFERED=1 HUB_MODE=production HUB_HOST=0.0.0.0 HUB_PORT=8000 HUB_DATABASE_URL=sqlite+aiosqlite:////home/hub/var/hub.db HUB_ATTACHMENTS_DIR=/home/hub/var/attachments HUB_LOG_FORMAT=json
USER 10001:10001
WORKDIR /home/hub
VOLUME /home/hub/var
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["hub", "health"]
CMD ["hub", "serve"]
