"""Deterministic content generators: text, tokens, embeddings, JSON from a schema, images, audio, video."""
