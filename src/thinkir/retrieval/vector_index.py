"""FAISS vector index over unit-norm vectors (inner product = cosine).

Index kinds are FAISS factory strings: ``flat`` (exact), ``hnsw`` (graph), ``ivfpq`` (compressed,
trained on a sample), or any factory string. When ``faiss`` has GPU support and a GPU is visible the
index is cloned to the GPU for search; when a GPU is visible but faiss is CPU-only, exact search over a
flat index runs as a torch CUDA matrix product + top-k, so the GPU path needs nothing beyond torch.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from thinkir.errors import InputError

logger = logging.getLogger(__name__)

KINDS = ("flat", "hnsw", "ivfpq")
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128
# The torch exact-search path scores queries in blocks whose [block, n_vectors] float32 score matrix
# stays under this many bytes (10k queries x 1M vectors would otherwise need 40 GB at once).
TORCH_SCORE_BLOCK_BYTES = 1 << 30


def factory_string(kind: str, dimension: int, n_vectors: int) -> str:
    """The FAISS factory string for an index kind, sized for ``n_vectors``."""
    if kind == "flat":
        return "Flat"
    if kind == "hnsw":
        return f"HNSW{HNSW_M},Flat"
    if kind == "ivfpq":
        nlist = max(1, min(int(4 * math.sqrt(max(n_vectors, 1))), n_vectors // 39 or 1))
        m = _pq_subquantizers(dimension)
        return f"IVF{nlist},PQ{m}x8"
    return kind  # a raw factory string, validated by faiss itself


def _pq_subquantizers(dimension: int) -> int:
    for m in (dimension // 8, 48, 32, 24, 16, 8, 4, 2, 1):
        if m and dimension % m == 0:
            return m
    return 1


class VectorIndex:
    """A FAISS index with the search-time knobs and device handling thinkir needs."""

    def __init__(self, index: Any, factory: str) -> None:
        self.index = index
        self.factory = factory
        self._gpu_index: Any = None
        self._torch_matrix: Any = None

    # ---- building -----------------------------------------------------------------------------
    @classmethod
    def create(cls, kind: str, dimension: int, n_vectors: int) -> VectorIndex:
        import faiss

        factory = factory_string(kind, dimension, n_vectors)
        try:
            index = faiss.index_factory(dimension, factory, faiss.METRIC_INNER_PRODUCT)
        except RuntimeError as err:
            raise InputError(f"invalid FAISS index kind or factory string {kind!r}: {err}") from err
        hnsw = _hnsw_of(index)
        if hnsw is not None:
            hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            hnsw.efSearch = HNSW_EF_SEARCH
        return cls(index, factory)

    def training_sample_size(self, cap: int = 1_000_000) -> int:
        """Vectors to train on: FAISS's 39 per IVF list (k-means) and at least 100k, up to ``cap``."""
        ivf = _ivf_of(self.index)
        wanted = max(100_000, 40 * ivf.nlist) if ivf is not None else 100_000
        return min(wanted, cap)

    @property
    def needs_training(self) -> bool:
        return not self.index.is_trained

    def train(self, sample: np.ndarray) -> None:
        """Train IVF/PQ quantisers on a sample of the vectors (a no-op for flat and HNSW)."""
        if not self.needs_training:
            return
        sample = _as_matrix(sample, self.index.d)
        minimum = _min_training_points(self.index)
        if len(sample) < minimum:
            raise InputError(
                f"index {self.factory!r} needs at least {minimum} vectors to train, got {len(sample)}; "
                "use --index flat or hnsw for small corpora"
            )
        self.index.train(sample)
        ivf = _ivf_of(self.index)
        if ivf is not None:
            ivf.nprobe = min(ivf.nlist, max(8, ivf.nlist // 16))

    def add(self, vectors: np.ndarray) -> None:
        self.index.add(_as_matrix(vectors, self.index.d))
        self._gpu_index = None
        self._torch_matrix = None

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self.index.d)

    # ---- search -------------------------------------------------------------------------------
    def set_search_params(self, ef_search: int | None = None, nprobe: int | None = None) -> None:
        hnsw = _hnsw_of(self.index)
        if ef_search is not None and hnsw is not None:
            hnsw.efSearch = ef_search
        ivf = _ivf_of(self.index)
        if nprobe is not None and ivf is not None:
            ivf.nprobe = nprobe

    def search(self, queries: np.ndarray, k: int, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` by inner product. Returns ``(scores [n, k] float32, ids [n, k] int64)``; ``-1`` pads."""
        queries = _as_matrix(queries, self.index.d)
        k = max(1, min(k, max(len(self), 1)))
        if device.startswith("cuda"):
            from thinkir.device import faiss_gpu_available

            if faiss_gpu_available():
                return self._faiss_gpu().search(queries, k)  # type: ignore[no-any-return]
            if self.is_flat:
                return self._torch_exact_search(queries, k, device)
            logger.debug("GPU requested but faiss has no GPU support; searching %s on CPU", self.factory)
        scores, ids = self.index.search(queries, k)
        return scores, ids

    @property
    def is_flat(self) -> bool:
        import faiss

        return isinstance(self.index, faiss.IndexFlat)

    def _faiss_gpu(self) -> Any:
        if self._gpu_index is None:
            import faiss

            res = faiss.StandardGpuResources()
            self._gpu_index = faiss.index_cpu_to_gpu(res, 0, self.index)
        return self._gpu_index

    def _torch_exact_search(self, queries: np.ndarray, k: int, device: str) -> tuple[np.ndarray, np.ndarray]:
        """Exact inner-product search as a CUDA matmul + top-k (no faiss-gpu needed)."""
        import torch

        if self._torch_matrix is None:
            flat = self.index.reconstruct_n(0, len(self))
            self._torch_matrix = torch.from_numpy(flat).to(device)
        rows = max(1, TORCH_SCORE_BLOCK_BYTES // (4 * len(self)))
        scores = np.empty((len(queries), k), np.float32)
        ids = np.empty((len(queries), k), np.int64)
        with torch.inference_mode():
            for start in range(0, len(queries), rows):
                q = torch.from_numpy(queries[start : start + rows]).to(device)
                top_s, top_i = torch.topk(q @ self._torch_matrix.T, k, dim=1)
                scores[start : start + rows] = top_s.float().cpu().numpy()
                ids[start : start + rows] = top_i.cpu().numpy()
        return scores, ids

    # ---- persistence --------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, factory: str, mmap: bool = False) -> VectorIndex:
        import faiss

        flags = faiss.IO_FLAG_MMAP if mmap else 0
        index = faiss.read_index(str(path), flags)
        hnsw = _hnsw_of(index)
        if hnsw is not None:
            hnsw.efSearch = max(hnsw.efSearch, HNSW_EF_SEARCH)
        return cls(index, factory)


def _as_matrix(x: np.ndarray, dim: int) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != dim:
        raise InputError(f"expected vectors of shape [n, {dim}], got {list(x.shape)}")
    return x


def _hnsw_of(index: Any) -> Any:
    return getattr(index, "hnsw", None)


def _ivf_of(index: Any) -> Any:
    import faiss

    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None


def _min_training_points(index: Any) -> int:
    ivf = _ivf_of(index)
    need = ivf.nlist if ivf is not None else 1
    pq = getattr(index, "pq", None)
    if pq is not None:
        need = max(need, 1 << pq.nbits)
    return int(need)
