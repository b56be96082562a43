# ecopy image: API, OCR workers and signer workers all run from it with different commands.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OMP_THREAD_LIMIT=1
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng poppler-utils qpdf ghostscript fonts-noto-core fonts-dejavu-core \
      libzbar0 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# The second OCR model (see the Makefile's ocr-models): tessdata_best_int vie, pinned by hash.
RUN set -eu; tmp=$(mktemp -d); dest=/usr/local/share/ecopy/tessdata/best_int; sys=/usr/share/tesseract-ocr/5/tessdata; \
    curl -sSfL --retry 3 -o "$tmp/vie.tgz" https://registry.npmjs.org/@tesseract.js-data/vie/-/vie-1.0.0.tgz; \
    echo "4f0a17b39722269c1c5e5f10d7aa3acd9a74fe46b109621973450caa4d9fe19f  $tmp/vie.tgz" | sha256sum -c -; \
    tar -xzf "$tmp/vie.tgz" -C "$tmp" package/4.0.0_best_int/vie.traineddata.gz; mkdir -p "$dest"; \
    gunzip -c "$tmp/package/4.0.0_best_int/vie.traineddata.gz" > "$dest/vie.traineddata"; \
    cp -r "$sys/configs" "$sys/tessconfigs" "$sys/osd.traineddata" "$dest/"; rm -rf "$tmp"
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
COPY storage ./storage
COPY workflow ./workflow
COPY workers ./workers
COPY api ./api
COPY ecopy ./ecopy
RUN pip install --no-cache-dir --no-deps . && useradd --system --uid 10001 ecopy
USER ecopy
EXPOSE 8000
CMD ["ecopy", "serve", "--host", "0.0.0.0", "--port", "8000"]
