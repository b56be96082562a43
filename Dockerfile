# ecopy image: API, OCR workers and signer workers all run from it with different commands.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OMP_THREAD_LIMIT=1
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      tesseract-ocr tesseract-ocr-vie poppler-utils qpdf ghostscript fonts-noto-core fonts-dejavu-core \
      libzbar0 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY storage ./storage
COPY workers ./workers
COPY api ./api
COPY ecopy ./ecopy
RUN pip install --no-cache-dir --no-deps . && useradd --system --uid 10001 ecopy
USER ecopy
EXPOSE 8000
CMD ["ecopy", "serve", "--host", "0.0.0.0", "--port", "8000"]
