"""First-stage retrieval: embedders, the FAISS vector index, BM25 backends, fusion, query reasoning."""
