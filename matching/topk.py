"""Exact top-k of a sparse product.

:meth:`matching.ranking.TextRanker.top_k` asks, for each query row of ``Q``, for the ``k``
largest entries of ``Q @ D`` (cosine scores against every document) without holding the whole
score matrix. :func:`top_k_product` does it with ``sparse_dot_topn.sp_matmul_topn`` (a compiled
sparse product that keeps only the best ``n`` entries of each row) and then makes the result
exact and deterministic: it equals a stable descending sort of the full product (ties broken by
the lower column index), with zero scores filling rows that have fewer than ``k`` non-zeros.

How: ``sp_matmul_topn`` is asked for a few more than ``k`` entries per row, sorted by value
(its values are the same sums, in the same order, as SciPy's product: bitwise equal); the rows
where two neighbouring values are equal get their ties ordered by column (all other rows are
already in their final order, so no further sort is made). A row is exact as it stands when its ``k``-th value is above the smallest value
returned (no tie at the cut can have been dropped) or when the row had fewer non-zeros than were
asked for (all of them were returned); the missing places of a row with fewer than ``k``
non-zeros are the zero-score columns of lowest index. The rare remaining rows (a tie across the
cut) are recomputed densely. Inputs with negative entries, or ``k`` close to the number of
columns, take the dense path (:func:`_top_k_dense`, a block of rows at a time).

Pure NumPy/SciPy plus sparse_dot_topn; no other part of the portal is imported.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

try:
    from sparse_dot_topn import sp_matmul_topn
except ImportError:  # pragma: no cover - a declared dependency; the dense path still works
    sp_matmul_topn = None

__all__ = ["TOP_K_BLOCK_ENTRIES", "top_k_product"]

# The dense path works on blocks of rows whose dense block has at most this many entries
# (float64: 32 MiB), so memory does not grow with the number of rows (queries).
TOP_K_BLOCK_ENTRIES = 1 << 22
# The sparse path asks sp_matmul_topn for k + _EXTRA(k) entries per row (see _extra).
_SPARSE_BLOCK_ROWS = 1 << 17  # rows per sp_matmul_topn call (bounds its result buffers)


def _extra(kk: int) -> int:
    return max(4, kk // 2)


def top_k_product(q: sp.csr_matrix, dt: sp.csr_matrix, k: int, *,
                  chunk_size: int | None = None,
                  nonnegative: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest entries of each row of ``q @ dt``, without building the whole product.

    Parameters
    ----------
    q : scipy.sparse.csr_matrix of shape (n_rows, n_features)
    dt : scipy.sparse.csr_matrix of shape (n_features, n_cols)
    k : int
        Entries per row; capped at ``n_cols``.
    chunk_size : int, optional
        Rows of ``q`` per block; by default 131,072 rows on the sparse path and as many as keep
        a dense block under :data:`TOP_K_BLOCK_ENTRIES` entries on the dense path.
    nonnegative : bool, optional
        ``True`` promises that ``q`` and ``dt`` have no negative entry (TF-IDF: always), which
        skips the check; ``None`` checks. Negative entries take the dense path.

    Returns
    -------
    indices : ndarray of int64, shape (n_rows, min(k, n_cols))
    values : ndarray of float64, same shape
        Sorted by descending value, then ascending column index.
    """
    q = sp.csr_matrix(q)
    dt = sp.csr_matrix(dt)
    n_docs = dt.shape[1]
    kk = max(0, min(int(k), n_docs))
    n_q = q.shape[0]
    out_idx = np.empty((n_q, kk), dtype=np.int64)
    out_val = np.empty((n_q, kk), dtype=np.float64)
    if kk == 0 or n_q == 0:
        return out_idx, out_val
    if nonnegative is None:
        nonnegative = not ((q.nnz and q.data.min() < 0) or (dt.nnz and dt.data.min() < 0))
    if (sp_matmul_topn is not None and nonnegative and kk + _extra(kk) < n_docs
            and q.dtype == dt.dtype == np.float64):
        rows = int(chunk_size) if chunk_size else _SPARSE_BLOCK_ROWS
        rows = max(1, rows)
        for start in range(0, n_q, rows):
            stop = min(n_q, start + rows)
            out_idx[start:stop], out_val[start:stop] = _top_k_sparse(q[start:stop], dt, kk)
        return out_idx, out_val
    return _top_k_blocked_dense(q, dt, kk, chunk_size, out_idx, out_val)


def _top_k_sparse(q: sp.csr_matrix, dt: sp.csr_matrix, kk: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top ``kk`` of each row of ``q @ dt`` (non-negative inputs) via sp_matmul_topn."""
    m = kk + _extra(kk)  # < n_docs (checked by the caller)
    return _exact_top_k(sp_matmul_topn(q, dt, top_n=m, sort=True), q, dt, kk, m)


def _exact_top_k(c: sp.csr_matrix, q: sp.csr_matrix, dt: sp.csr_matrix, kk: int,
                 m: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact top ``kk`` of each row from ``c``, the best ``m`` entries of each row of
    ``q @ dt`` sorted by descending value (``sp_matmul_topn(..., sort=True)``): rows with equal
    neighbouring values get their ties ordered by column; rows that cannot be trusted are
    recomputed densely; rows with fewer than ``kk`` entries are filled with zero scores."""
    n_rows, n_docs = c.shape
    counts = np.diff(c.indptr)
    nnz = int(c.indptr[-1])
    if nnz == n_rows * m:  # every row full (the usual case): the entries are an (n_rows, m) block
        vals = c.data[:nnz].reshape(n_rows, m)
        cols = c.indices[:nnz].reshape(n_rows, m).astype(np.int64)
    else:
        width = max(int(counts.max()) if n_rows else 0, kk)
        vals = np.full((n_rows, width), -np.inf)
        cols = np.full((n_rows, width), n_docs, dtype=np.int64)
        r = np.repeat(np.arange(n_rows), counts)
        pos = np.arange(nnz) - np.repeat(c.indptr[:-1], counts)
        vals[r, pos] = c.data[:nnz]
        cols[r, pos] = c.indices[:nnz]
    # equal neighbours (ties) are ordered by column: a stable sort by value of the row's
    # entries in column order; rows without ties are already in their final order
    tied = np.flatnonzero(((vals[:, 1:] == vals[:, :-1]) & (vals[:, 1:] > -np.inf)).any(axis=1))
    if tied.size:
        tv, tc = vals[tied], cols[tied]
        order = np.lexsort((tc, -tv), axis=-1)
        vals[tied] = np.take_along_axis(tv, order, axis=1)
        cols[tied] = np.take_along_axis(tc, order, axis=1)
    out_val = vals[:, :kk].copy()
    out_idx = cols[:, :kk].copy()
    # rows that cannot be trusted as they stand: a tie at the cut of a full row (an equal value
    # may have been left out), or a stored value <= 0 (zeros must sort among the implicit ones)
    full = counts >= m
    last = vals[np.arange(n_rows), np.maximum(counts - 1, 0)]  # each row's smallest entry
    redo = (full & (vals[:, kk - 1] <= last)) | ((counts > 0) & (last <= 0))
    short = np.flatnonzero((counts < kk) & ~redo)
    if short.size:  # fewer than kk non-zeros: fill with the zero-score columns of lowest index
        n_short = counts[short]
        span = min(n_docs, kk + int(n_short.max()))
        taken = np.zeros((short.size, span), dtype=bool)
        sc = cols[short, : int(n_short.max())]
        rr, cc = np.nonzero(sc < span)
        taken[rr, sc[rr, cc]] = True
        free = np.argsort(taken, axis=1, kind="stable")  # free columns first, ascending
        need = kk - n_short
        slot = np.arange(kk)[None, :] - n_short[:, None]  # position among the free columns
        fill = slot >= 0
        fr, fc = np.nonzero(fill)
        out_idx[short[fr], fc] = free[fr, slot[fr, fc]]
        out_val[short[fr], fc] = 0.0
        assert int(fill.sum()) == int(need.sum())
    redo = np.flatnonzero(redo)
    if redo.size:  # densely, a block of rows at a time (memory bounded like the dense path)
        rows = max(1, TOP_K_BLOCK_ENTRIES // max(1, n_docs))
        for start in range(0, redo.size, rows):
            part = redo[start:start + rows]
            out_idx[part], out_val[part] = _top_k_dense((q[part] @ dt).toarray(), kk)
    return out_idx, out_val


def _top_k_blocked_dense(q, dt, kk, chunk_size, out_idx, out_val):
    """Dense path: one block of rows at a time into a reused buffer, exact selection."""
    n_docs, n_q = dt.shape[1], q.shape[0]
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
