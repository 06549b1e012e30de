"""Model files: safe ``.keras`` load and save, model cards, LiteRT and ONNX exports on disk, the catalogue of models."""
