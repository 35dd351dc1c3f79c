"""Corpus readers, the document store, the index manifest and the batch index builder."""
