"""Exact top-k of a sparse product, a block of rows at a time.

:meth:`matching.ranking.TextRanker.top_k` asks, for each query row of ``Q``, for the ``k``
largest entries of ``Q @ D`` (cosine scores against every document) without holding the whole
score matrix: :func:`top_k_product` multiplies a block of query rows at a time into a reused
dense buffer and keeps the best ``k`` of each row with :func:`_top_k_dense`. The result is exact
and deterministic: it equals a stable descending sort of the full product (ties broken by the
lower column index).

Pure NumPy/SciPy; no other part of the portal is imported.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["TOP_K_BLOCK_ENTRIES", "top_k_product"]

# top_k_product works on blocks of rows whose dense block has at most this many entries
# (float64: 32 MiB), so memory does not grow with the number of rows (queries).
TOP_K_BLOCK_ENTRIES = 1 << 22


def top_k_product(q: sp.csr_matrix, dt: sp.csr_matrix, k: int, *,
                  chunk_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest entries of each row of ``q @ dt``, without building the whole product.

    Parameters
    ----------
    q : scipy.sparse.csr_matrix of shape (n_rows, n_features)
    dt : scipy.sparse.csr_matrix of shape (n_features, n_cols)
    k : int
        Entries per row; capped at ``n_cols``.
    chunk_size : int, optional
        Rows of ``q`` per block; by default as many as keep a dense block under
        :data:`TOP_K_BLOCK_ENTRIES` entries.

    Returns
    -------
    indices : ndarray of int64, shape (n_rows, min(k, n_cols))
    values : ndarray of float64, same shape
        Sorted by descending value, then ascending column index.
    """
    n_docs = dt.shape[1]
    kk = max(0, min(int(k), n_docs))
    n_q = q.shape[0]
    out_idx = np.empty((n_q, kk), dtype=np.int64)
    out_val = np.empty((n_q, kk), dtype=np.float64)
    if kk == 0 or n_q == 0:
        return out_idx, out_val
    if chunk_size is None:
        chunk_size = max(1, TOP_K_BLOCK_ENTRIES // max(1, n_docs))
    chunk_size = max(1, int(chunk_size))
    if n_q <= chunk_size:  # one block
        idx, val = _top_k_dense((q @ dt).toarray(), kk)
        out_idx[:], out_val[:] = idx, val
        return out_idx, out_val
    buffer = np.empty((chunk_size, n_docs), dtype=np.float64)  # reused for every block
    for start in range(0, n_q, chunk_size):
        stop = min(n_q, start + chunk_size)
        block = buffer[: stop - start]
        block.fill(0.0)
        (q[start:stop] @ dt).toarray(out=block)
        idx, val = _top_k_dense(block, kk)
        out_idx[start:stop] = idx
        out_val[start:stop] = val
    return out_idx, out_val


# Prefilter of the top-k: the k-th largest value of a sample of about this many columns is a
# lower bound of each row's k-th largest value, so only the (few) entries above it are sorted.
_TOP_K_SAMPLE_COLUMNS = 512


def _top_k_dense(block: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``kk`` per row of a dense block, sorted by (-score, index).

    Exact: equals ``np.argsort(-block, kind="stable")[:, :kk]``.
    """
    n_rows, n_cols = block.shape
    if kk >= n_cols:
        idx = np.argsort(-block, axis=1, kind="stable")[:, :kk]
        return idx.astype(np.int64, copy=False), np.take_along_axis(block, idx, axis=1)
    m_target = min(_TOP_K_SAMPLE_COLUMNS, n_cols // 4)
    if m_target < 4 * kk:  # few columns or large k: partition the whole rows
        return _top_k_partition(block, kk)
    step = n_cols // m_target
    sample = block[:, ::step]
    m = sample.shape[1]
    bound = np.partition(sample, m - kk, axis=1)[:, m - kk]  # <= each row's k-th largest
    mask = block >= bound[:, None]
    counts = np.count_nonzero(mask, axis=1)  # >= kk by construction
    out_idx = np.empty((n_rows, kk), dtype=np.int64)
    out_val = np.empty((n_rows, kk), dtype=block.dtype)
    heavy = counts > max(64 * kk, n_cols // 16)  # e.g. rows of zeros: bound does not filter
    if heavy.any():
        mask[heavy] = False
        h = np.flatnonzero(heavy)
        out_idx[h], out_val[h] = _top_k_partition(block[h], kk)
    light = np.flatnonzero(~heavy)
    if light.size:
        flat = np.flatnonzero(mask)  # row-major: rows ascending, then columns ascending
        rows = flat // n_cols
        cols = flat - rows * n_cols
        # candidates of each light row packed left in a small padded matrix, in column order;
        # a stable sort of each row by -value then breaks ties by the lower column
        light_pos = np.empty(n_rows, dtype=np.int64)
        light_pos[light] = np.arange(light.size)
        counts_light = counts[light]
        width = int(counts_light.max())
        starts = np.cumsum(counts_light) - counts_light
        r = light_pos[rows]
        pos = np.arange(flat.size) - np.repeat(starts, counts_light)
        packed_val = np.full((light.size, width), -np.inf)
        packed_val[r, pos] = block.ravel()[flat]
        packed_col = np.zeros((light.size, width), dtype=np.int64)
        packed_col[r, pos] = cols
        order = np.argsort(-packed_val, axis=1, kind="stable")[:, :kk]
        out_idx[light] = np.take_along_axis(packed_col, order, axis=1)
        out_val[light] = np.take_along_axis(packed_val, order, axis=1)
    return out_idx, out_val


def _top_k_partition(block: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``kk`` per row with ``np.argpartition`` over whole rows (ties: lowest index)."""
    n_rows, n_cols = block.shape
    rows = np.arange(n_rows)[:, None]
    if kk >= n_cols:
        idx = np.argsort(-block, axis=1, kind="stable")[:, :kk]
        return idx.astype(np.int64, copy=False), block[rows, idx]
    part = np.argpartition(block, n_cols - kk, axis=1)[:, n_cols - kk:]
    part_val = block[rows, part]
    thresh = part_val.min(axis=1)
    # Rows where the k-th value is tied with values left outside: take the lowest indices.
    n_ge = np.count_nonzero(block >= thresh[:, None], axis=1)
    for r in np.flatnonzero(n_ge > kk):
        row, t = block[r], thresh[r]
        above = np.flatnonzero(row > t)
        tied = np.flatnonzero(row == t)[: kk - above.size]
        part[r] = np.concatenate([above, tied])
    part.sort(axis=1)  # ascending index, so the stable sort below breaks ties by index
    part_val = block[rows, part]
    order = np.argsort(-part_val, axis=1, kind="stable")
    idx = np.take_along_axis(part, order, axis=1)
    return idx.astype(np.int64, copy=False), np.take_along_axis(part_val, order, axis=1)
