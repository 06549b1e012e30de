"""Model files: safe ``.keras`` load and save, model cards, LiteRT exports on disk, the catalogue of models."""
