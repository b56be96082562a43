"""Synthetic OCR pages for extractor tests: one OCR line per printed line, words laid out left to
right, every word read with the same confidence unless a test says otherwise."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.models import Box, OcrPage, OcrResult, Word

CHAR_W, GAP, HEIGHT, PITCH = 22, 16, 40, 80

# A line: its text, or (text, {word: confidence}) to read some words with another confidence.
Line = str | tuple[str, dict[str, float]]


def page(lines: Sequence[Line], conf: float = 0.95) -> OcrResult:
    words: list[Word] = []
    texts = []
    for i, line in enumerate(lines):
        text, special = (line, {}) if isinstance(line, str) else line
        x = 300
        for token in text.split():
            w = max(8, CHAR_W * len(token))
            words.append(Word(token, special.get(token, conf), Box(x, 200 + PITCH * i, w, HEIGHT), i))
            x += w + GAP
        texts.append(text)
    return OcrResult(pages=(OcrPage(0, 2480, 3508, tuple(words), tuple(texts)),))
