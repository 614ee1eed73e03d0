# The service image: non-root, the hub and its migrations, nothing from the test tooling.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY workers ./workers
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 hub
COPY --from=build /install /usr/local
USER hub
WORKDIR /home/hub
ENV HUB_HOST=0.0.0.0 HUB_PORT=8000 HUB_DATABASE_URL=sqlite+aiosqlite:////home/hub/var/hub.db
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["hub", "serve"]
