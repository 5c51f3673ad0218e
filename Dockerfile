# mockserver: the YEScale emulator on 0.0.0.0:8080.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY mockserver ./mockserver
COPY pytest_plugin ./pytest_plugin
COPY contracts ./contracts
RUN pip install . \
    && useradd --create-home --uid 10001 mock

USER 10001
EXPOSE 8080
# Set MOCKSERVER_CONTROL_TOKEN and the control API (/__mock/*, health excepted) needs it; without one the server
# warns at start, since anyone who reaches the port could reset it or inject faults:
#   docker run -e MOCKSERVER_CONTROL_TOKEN="$(openssl rand -hex 16)" -p 8080:8080 mockserver
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/__mock/health', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["mockserver", "serve", "--host", "0.0.0.0", "--port", "8080"]
