"""Replicate weights built from a stratified multistage design, as R's ``survey::as.svrepdesign``.

:func:`build_replicates` turns per-row stratum and PSU codes (and optionally the stage-1 population
size) into a matrix of replicate *factors*: the replicate weight of row ``i`` in replicate ``r`` is
``factors[i, r] * w[i]`` with ``w`` the full-sample weight.  The variance of a statistic is then
``scale * sum(rscales * (theta_r - centre) ** 2)`` with ``centre`` the full-sample estimate when
``mse`` is true, else the mean of the replicate estimates (R's ``svrVar``).

What R does, per type (survey 4.1.1), and what this module reproduces:

* ``JK1`` (``jk1weights``): unstratified delete-one-PSU jackknife.  One replicate per PSU, in the
  order the PSUs first appear in the data; the deleted PSU gets 0, the others ``n/(n-1)``.
  ``scale = (n-1)/n`` times the fpc ``(N-n)/N`` when a population size is given; ``rscales`` all 1.
  R refuses JK1 for a stratified design, so more than one stratum is an error here.
* ``JKn`` (``jknweights``): stratified delete-one jackknife.  Strata in order of first appearance,
  PSUs within a stratum in order of first appearance; deleting a PSU of stratum ``h`` gives 0 to it,
  ``n_h/(n_h-1)`` to the other PSUs of ``h`` and 1 elsewhere.  ``rscales = (n_h-1)/n_h`` times
  ``(N_h-n_h)/N_h`` with a population size; ``scale = 1``.  Strata sampled exhaustively
  (``N_h == n_h``) contribute no replicates.
* ``BRR`` / ``Fay`` (``brrweights``): exactly two PSUs per stratum.  Strata get Hadamard rows
  2, 3, ... in R's *character* sort order of the stratum labels (by default here: ascending stratum
  code, see ``stratum_order``); one replicate per column of :func:`hadamard` ``(n_strata)``.  In
  replicate ``r`` the PSU that appears first in its stratum is in the half-sample when the Hadamard
  entry is 1, the other PSU when it is 0; half-sample PSUs get ``2 - rho``, the others ``rho``.
  ``scale = 1 / (R (1-rho)^2)``, ``rscales`` all 1.  R drops an fpc with a warning; so does this.
  ``rho == 0`` is BRR whichever of the two names was asked for (R sets the type from ``fay.rho``).
* ``bootstrap`` (``bootweights``): within each stratum draw ``n_h`` PSUs *with* replacement; the
  factor is the number of times a PSU was drawn.  With a population size, draw ``n_h`` PSUs without
  replacement from a pseudo-population holding each PSU ``N_h // n_h`` or ``N_h // n_h + 1`` times.
  ``scale = nbar / ((nbar - 1) (R - 1))`` with ``nbar`` the harmonic mean of the PSU counts per
  stratum; ``rscales`` all 1.  (This is R's ``type="bootstrap"``; it is *not* the Rao-Wu rescaled
  bootstrap, which R calls ``subbootstrap``.)
* ``subbootstrap`` (``subbootweights``, Rao-Wu): draw ``n_h - 1`` PSUs with replacement, factor
  ``count * n_h / (n_h - 1)``, ``scale = 1/(R-1)``, ``rscales`` all 1; an fpc is dropped.

Random draws use ``numpy.random.default_rng(seed)``; they do not reproduce R's random numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from quietpoll.errors import DesignError

from .hadamard import check_hadamard_matrix, hadamard

__all__ = [
    "REPLICATE_TYPES",
    "BUILT_TYPES",
    "ReplicateType",
    "Replicates",
    "build_replicates",
    "hadamard",
    "register_replicate_type",
    "r_text_order",
]


# ----------------------------------------------------------------------------------------------
# The replicate-type registry: one ReplicateType per type, registered once (bottom of this file)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplicateType:
    """A replicate type: how R's svrepdesign sets scale and rscales for given replicate weight
    columns (`scales`, None if the type cannot be given as columns) and how as.svrepdesign builds its
    factors from stage-1 strata and PSUs (`build`, None if quietpoll cannot build it)."""

    name: str
    scales: Callable | None = None  # (scale, rscales, rho, R) -> (scale, rscales), either may be None
    build: Callable | None = None  # (units, rho, replicates, rng, hadamard_matrix, stratum_order)
    #                                    -> (table, scale, rscales, type, rho)
    aliases: tuple[str, ...] = ()  # other spellings accepted (the name is case-insensitive)
    half_sample: bool = False  # rho, hadamard_matrix and stratum_order apply (BRR, Fay)
    keeps_fpc: bool = True  # a population size is used (else dropped with a warning, as R)


#: name -> ReplicateType, in registration order
REPLICATE_TYPES: dict[str, ReplicateType] = {}
#: lower-case spellings -> name
_ALIASES: dict[str, str] = {}


def register_replicate_type(t: ReplicateType) -> ReplicateType:
    if t.name in REPLICATE_TYPES:
        raise ValueError(f"replicate type '{t.name}' is registered twice")
    REPLICATE_TYPES[t.name] = t
    for a in (t.name, *t.aliases):
        _ALIASES[a.lower()] = t.name
    return t


def canonical_type(type: str) -> str | None:
    """The registered name of a replicate type spelled any way it may be, or None."""
    return _ALIASES.get(str(type).lower())


@dataclass(frozen=True, eq=False)
class Replicates:
    """Replicate factors and the constants R's ``svrVar`` combines them with.

    ``factors`` is ``(n_rows, R)`` float64 (read-only); the combined replicate weight is
    ``factors * w[:, None]`` for the full-sample weight ``w``.
    """

    factors: np.ndarray
    scale: float
    rscales: np.ndarray
    type: str
    rho: float | None = None
    mse: bool = False

    @property
    def n_replicates(self) -> int:
        return int(self.factors.shape[1])


# ----------------------------------------------------------------------------------------------
# Replicate factors
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _PSUs:
    """The PSUs of the sample, indexed 0..P-1 in order of first appearance in the data."""

    row_psu: np.ndarray  # (n_rows,) PSU index of each row
    stratum: np.ndarray  # (P,) stratum code of each PSU
    label: np.ndarray  # (P,) PSU code as given
    popsize: np.ndarray | None  # (P,) stage-1 population size of each PSU's stratum


def _as_codes(name: str, values: np.ndarray) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 1:
        raise DesignError(f"{name} codes must be one-dimensional, got shape {a.shape}")
    if a.dtype.kind in "iub":
        return a.astype(np.int64, copy=False)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
            raise DesignError(f"{name} codes must be whole numbers without missing values")
        return a.astype(np.int64)
    raise DesignError(f"{name} codes must be integers, got dtype {a.dtype}")


def _psus(strata: np.ndarray | None, psu: np.ndarray, popsize: np.ndarray | None) -> _PSUs:
    psu_c = _as_codes("psu", psu)
    n = psu_c.size
    if n == 0:
        raise DesignError("cannot build replicate weights for an empty sample")
    strata_c = np.zeros(n, dtype=np.int64) if strata is None else _as_codes("strata", strata)
    if strata_c.size != n:
        raise DesignError(f"strata has {strata_c.size} codes but psu has {n}")
    uniq, first, inverse = np.unique(psu_c, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # PSUs in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    row_psu = rank[inverse]
    first_row = first[order]
    stratum = strata_c[first_row]
    if not np.array_equal(stratum[row_psu], strata_c):
        bad = int(psu_c[np.flatnonzero(stratum[row_psu] != strata_c)[0]])
        raise DesignError(f"PSU code {bad} occurs in more than one stratum: PSUs must be nested in strata")
    pop = None
    if popsize is not None:
        p = np.asarray(popsize, dtype=np.float64)
        if p.shape != (n,):
            raise DesignError(f"popsize must have one value per row ({n}), got shape {p.shape}")
        if not np.all(np.isfinite(p)) or np.any(p <= 0):
            raise DesignError("popsize must be positive and not missing in every row")
        # one population size per stratum
        s_codes, s_inv = np.unique(strata_c, return_inverse=True)
        lo = np.full(s_codes.size, np.inf)
        hi = np.full(s_codes.size, -np.inf)
        np.minimum.at(lo, s_inv, p)
        np.maximum.at(hi, s_inv, p)
        if np.any(lo != hi):
            bad = int(s_codes[np.flatnonzero(lo != hi)[0]])
            raise DesignError(f"popsize varies within stratum code {bad}: it must be constant in each stratum")
        pop = p[first_row]
    return _PSUs(row_psu=row_psu, stratum=stratum, label=uniq[order], popsize=pop)


def _strata_in_appearance_order(stratum: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes in order of first appearance, stratum index per PSU, number of PSUs per stratum)."""
    codes, first, inv = np.unique(stratum, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    idx = rank[inv]
    return codes[order], idx, np.bincount(idx, minlength=codes.size)


def _population_sizes(units: _PSUs, idx: np.ndarray, n_h: np.ndarray) -> np.ndarray | None:
    """Population size per stratum (strata indexed as in idx), or None without an fpc."""
    if units.popsize is None:
        return None
    n_pop = np.empty(n_h.size)
    n_pop[idx] = units.popsize
    return n_pop


def _jk1(units: _PSUs) -> tuple[np.ndarray, float, np.ndarray]:
    if np.unique(units.stratum).size > 1:
        raise DesignError(
            "JK1 replicate weights are for unstratified designs (R: \"Can't use JK1 for a "
            'stratified design"); use type "JKn" for a stratified design'
        )
    n = units.label.size
    if n < 2:
        raise DesignError("JK1 replicate weights need at least 2 PSUs; the design has 1")
    fpc = 1.0
    if units.popsize is not None:
        big_n = float(units.popsize[0])
        if big_n < n:
            raise DesignError(f"popsize ({big_n:g}) is smaller than the number of sampled PSUs ({n})")
        fpc = (big_n - n) / big_n
    if fpc == 0:  # everything sampled: R drops all replicates (survey.drop.replicates)
        return np.zeros((n, 0)), 0.0, np.zeros(0)
    table = np.full((n, n), n / (n - 1))
    np.fill_diagonal(table, 0.0)
    return table, fpc * (n - 1) / n, np.ones(n)


def _jkn(units: _PSUs) -> tuple[np.ndarray, float, np.ndarray]:
    codes, idx, n_h = _strata_in_appearance_order(units.stratum)
    fpc = np.ones(codes.size)
    n_pop = _population_sizes(units, idx, n_h)
    if n_pop is not None:
        small = n_pop < n_h
        if np.any(small):
            k = int(np.flatnonzero(small)[0])
            raise DesignError(
                f"popsize ({n_pop[k]:g}) is smaller than the number of sampled PSUs ({n_h[k]}) "
                f"in stratum code {codes[k]}"
            )
        fpc = (n_pop - n_h) / n_pop
    lonely = (n_h == 1) & (fpc != 0)
    if np.any(lonely):
        k = int(np.flatnonzero(lonely)[0])
        raise DesignError(
            f"stratum code {codes[k]} has only one PSU: the JKn jackknife cannot delete it; "
            "merge it with another stratum"
        )
    # one replicate per PSU of every stratum not sampled exhaustively; PSUs are already in order
    # of first appearance, so a stable sort by stratum appearance gives R's column order
    keep = fpc[idx] != 0
    if not np.any(keep):
        raise DesignError(
            "every stratum was sampled exhaustively (popsize equals the number of PSUs): "
            "the design has no sampling variance to replicate"
        )
    cols = np.flatnonzero(keep)
    cols = cols[np.argsort(idx[cols], kind="stable")]
    col_stratum = idx[cols]
    n_col = n_h[col_stratum]
    same = idx[:, None] == col_stratum[None, :]
    table = np.where(same, (n_col / (n_col - 1))[None, :], 1.0)
    table[cols, np.arange(cols.size)] = 0.0
    rscales = fpc[col_stratum] * (n_col - 1) / n_col
    return table, 1.0, rscales


def _brr(
    units: _PSUs,
    rho: float,
    hadamard_matrix: np.ndarray | None,
    stratum_order: np.ndarray | None,
) -> tuple[np.ndarray, float, np.ndarray]:
    codes, idx_codes, n_h = np.unique(units.stratum, return_inverse=True, return_counts=True)
    bad = n_h != 2
    if np.any(bad):
        listing = ", ".join(f"code {c} has {k}" for c, k in zip(codes[bad][:5], n_h[bad][:5]))
        more = "" if bad.sum() <= 5 else f" and {int(bad.sum()) - 5} more"
        raise DesignError(
            f"BRR and Fay replicate weights need exactly 2 PSUs in every stratum; stratum {listing} PSUs{more}"
        )
    n_strata = codes.size
    # rank of each stratum: the order in which it receives Hadamard rows 1, 2, ...
    if stratum_order is None:
        rank_of_code = np.arange(n_strata)
    else:
        so = _as_codes("stratum_order", stratum_order)
        if so.size != n_strata or not np.array_equal(np.sort(so), codes):
            raise DesignError("stratum_order must list each stratum code of the sample exactly once")
        rank_of_code = np.empty(n_strata, dtype=np.int64)
        rank_of_code[np.searchsorted(codes, so)] = np.arange(n_strata)
    rank = rank_of_code[idx_codes]
    # PSUs are in order of first appearance: the first PSU of each stratum has position 0
    pos = np.ones(rank.size, dtype=np.int64)
    _, first_psu = np.unique(idx_codes, return_index=True)
    pos[first_psu] = 0
    if hadamard_matrix is None:
        h = hadamard(n_strata)
    else:
        h = check_hadamard_matrix(hadamard_matrix, n_strata)
    in_half = h[1 + rank, :] != pos[:, None]
    table = np.where(in_half, 2.0 - rho, rho)
    n_rep = h.shape[1]
    return table, 1.0 / (n_rep * (1.0 - rho) ** 2), np.ones(n_rep)


def _bootstrap_common(units: _PSUs, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes, idx, n_h = _strata_in_appearance_order(units.stratum)
    certain = np.zeros(codes.size, dtype=bool)
    n_pop = _population_sizes(units, idx, n_h)
    if n_pop is not None:
        certain = n_pop == n_h
    lonely = (n_h == 1) & ~certain
    if np.any(lonely):
        k = int(np.flatnonzero(lonely)[0])
        raise DesignError(
            f"stratum code {codes[k]} has only one PSU: the {what} cannot resample it; merge it with another stratum"
        )
    return codes, idx, n_h


def _bootstrap(units: _PSUs, replicates: int, rng: np.random.Generator) -> tuple[np.ndarray, float, np.ndarray]:
    codes, idx, n_h = _bootstrap_common(units, "bootstrap")
    n_pop = _population_sizes(units, idx, n_h)
    if n_pop is not None:
        small = n_pop < n_h
        if np.any(small):
            k = int(np.flatnonzero(small)[0])
            raise DesignError(
                f"popsize ({n_pop[k]:g}) is smaller than the number of sampled PSUs ({n_h[k]}) "
                f"in stratum code {codes[k]}"
            )
    table = np.empty((idx.size, replicates))
    for h in range(codes.size):  # one vectorised draw per stratum
        members = np.flatnonzero(idx == h)
        n = members.size
        if n_pop is None:
            counts = rng.multinomial(n, np.full(n, 1.0 / n), size=replicates)
        else:
            # pseudo-population: the PSUs in random order, recycled to length N_h (as rep() does)
            big_n = int(n_pop[h])
            copies = np.full(n, big_n // n, dtype=np.int64)
            copies[rng.permutation(n)[: big_n % n]] += 1
            counts = rng.multivariate_hypergeometric(copies, n, size=replicates)
        table[members, :] = counts.T
    nbar = 1.0 / float(np.mean(1.0 / n_h))
    scale = nbar / ((nbar - 1.0) * (replicates - 1)) if nbar > 1 else 0.0
    return table, scale, np.ones(replicates)


def _subbootstrap(units: _PSUs, replicates: int, rng: np.random.Generator) -> tuple[np.ndarray, float, np.ndarray]:
    codes, idx, n_h = _bootstrap_common(units, "subbootstrap")
    table = np.empty((idx.size, replicates))
    for h in range(codes.size):
        members = np.flatnonzero(idx == h)
        n = members.size
        counts = rng.multinomial(n - 1, np.full(n, 1.0 / n), size=replicates)
        table[members, :] = counts.T * (n / (n - 1))
    return table, 1.0 / (replicates - 1), np.ones(replicates)


def _r_character(value) -> str:
    """R's as.character of one stratum label: integers as digits, doubles to 15 significant digits
    in the shorter of fixed and scientific notation (R's rule with scipen 0), text as is."""
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(f"{float(value):.15g}")
        if v == int(v) and abs(v) < 1e15:
            fixed = str(int(v))
        else:
            fixed = np.format_float_positional(v, trim="-")
        mant, _, exp = f"{v:.15e}".partition("e")
        mant = mant.rstrip("0").rstrip(".")
        e = int(exp)
        sci = f"{mant}e{'-' if e < 0 else '+'}{abs(e):02d}"
        return fixed if len(fixed) <= len(sci) else sci
    return str(value)


def r_text_order(labels) -> np.ndarray:
    """The stratum codes 0..H-1 (labels[k] is the label of code k) in the order R's brrweights gives
    them Hadamard rows: the sort of ``as.character(label)``.  Numeric labels sort as text
    ("1", "10", "11", "2", ...); text is compared by code point (R's sort in the C locale; R in
    another collation locale may order mixed-case labels differently)."""
    text = [_r_character(v) for v in labels]
    return np.array(sorted(range(len(text)), key=lambda k: text[k].encode("utf-8")), dtype=np.int64)


def _canonical_type(type: str) -> str:
    name = canonical_type(type) if isinstance(type, str) else None
    if name is None or REPLICATE_TYPES[name].build is None:
        raise DesignError(f"unknown replicate type {type!r}; choose one of {', '.join(BUILT_TYPES)}", param="type")
    return name


def build_replicates(
    type: str,
    strata: np.ndarray | None,
    psu: np.ndarray,
    *,
    popsize: np.ndarray | None = None,
    rho: float | None = None,
    replicates: int = 50,
    seed: int | None = None,
    hadamard_matrix: np.ndarray | None = None,
    mse: bool = False,
    stratum_order: np.ndarray | None = None,
) -> Replicates:
    """Replicate factors for a design given per-row stratum and PSU codes, as R's as.svrepdesign.

    Parameters
    ----------
    type
        ``"JK1"``, ``"JKn"``, ``"BRR"``, ``"Fay"``, ``"bootstrap"`` or ``"subbootstrap"``
        (case-insensitive).
    strata, psu
        Integer codes per row; PSU codes must be nested in strata (unique across strata).
        ``strata=None`` means unstratified.  Replicate columns follow the order in which strata
        and PSUs first appear in the rows, as in R, whatever the codes are.
    popsize
        Per-row stage-1 population size (number of PSUs in the stratum population), constant
        within each stratum, or None for no finite population correction.  Dropped with a
        warning for BRR, Fay and subbootstrap, as R does.
    rho
        Fay coefficient in [0, 1): required for ``"Fay"``; with ``"BRR"`` only 0 or None.
        ``rho == 0`` gives type ``"BRR"``.
    replicates, seed
        Number of bootstrap replicates (at least 2) and the seed of ``numpy.random.default_rng``.
    hadamard_matrix
        BRR/Fay: a square Hadamard matrix with two distinct values (the value in ``[0, 0]`` is
        coded 0) and at least ``n_strata + 1`` rows, instead of :func:`hadamard`.
    mse
        Stored on the result: centre replicate variances on the full-sample estimate.
    stratum_order
        BRR/Fay: the stratum codes in the order R gives them Hadamard rows, which is the
        *character* sort of the labels (``as.character``).  Default: ascending code, which is
        the same whenever the code order is the character order of the labels (text labels
        coded in sorted order; numeric labels only while they sort the same as text, e.g. 1..9).
    """
    kind = _canonical_type(type)
    rtype = REPLICATE_TYPES[kind]
    if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)):
        raise DesignError(f"{{replicates}} must be an integer, got {replicates!r}", param="replicates")
    if replicates < 2:
        raise DesignError(f"{{replicates}} must be at least 2, got {replicates}", param="replicates")
    if rho is not None:
        rho = float(rho)
        if not (0.0 <= rho < 1.0):
            raise DesignError(f"{{rho}} (Fay coefficient) must be in [0, 1), got {rho:g}", param="rho")
        if rho != 0.0 and not rtype.half_sample:
            raise DesignError(f"{{rho}} (Fay coefficient) does not apply to type {kind!r}", param="rho")
    if kind == "Fay" and rho is None:
        raise DesignError('type "Fay" needs {rho}, the Fay coefficient in (0, 1)', param="rho")
    if stratum_order is not None and not rtype.half_sample:
        raise DesignError("{stratum_order} only applies to BRR and Fay replicate weights", param="stratum_order")
    if hadamard_matrix is not None and not rtype.half_sample:
        raise DesignError("{hadamard_matrix} only applies to BRR and Fay replicate weights", param="hadamard_matrix")

    if popsize is not None and not rtype.keeps_fpc:
        warnings.warn(
            f"finite population correction dropped for {kind} replicate weights (as R does)",
            stacklevel=2,
        )
        popsize = None
    build = rtype.build
    if build is None:  # pragma: no cover - _canonical_type accepts only types with a builder
        raise DesignError(f"replicate type {kind!r} cannot be built", param="type")
    units = _psus(strata, psu, popsize)
    table, scale, rscales, kind, out_rho = build(
        units, rho, int(replicates), np.random.default_rng(seed), hadamard_matrix, stratum_order
    )

    factors = np.ascontiguousarray(table[units.row_psu, :], dtype=np.float64)
    rscales = np.asarray(rscales, dtype=np.float64)
    factors.setflags(write=False)
    rscales.setflags(write=False)
    return Replicates(
        factors=factors,
        scale=float(scale),
        rscales=rscales,
        type=kind,
        rho=out_rho,
        mse=bool(mse),
    )


# ----------------------------------------------------------------------------------------------
# The registered types
# ----------------------------------------------------------------------------------------------


def _given(default):
    """scale from a default when not given; rscales as given (svrepdesign's rule for most types)."""
    return lambda scale, rscales, rho, R: (default(R) if scale is None else scale, rscales)


def _jkn_scales(scale, rscales, rho, R):
    if rscales is None:
        raise DesignError("JKn replicate weights need {rscales} ((n_h - 1) / n_h for each replicate)", param="rscales")
    return scale, rscales


def _sdr_scales(scale, rscales, rho, R):
    return 4.0 / R, np.ones(R)


def _half_sample(units, rho, replicates, rng, hadamard_matrix, stratum_order):
    out_rho = 0.0 if rho is None else rho
    table, scale, rscales = _brr(units, out_rho, hadamard_matrix, stratum_order)
    return table, scale, rscales, "BRR" if out_rho == 0.0 else "Fay", out_rho


def _simple(name, builder, draws=False):
    def build(units, rho, replicates, rng, hadamard_matrix, stratum_order):
        table, scale, rscales = builder(units, replicates, rng) if draws else builder(units)
        return table, scale, rscales, name, None

    return build


register_replicate_type(ReplicateType("JK1", _given(lambda R: (R - 1) / R), _simple("JK1", _jk1)))
register_replicate_type(ReplicateType("JKn", _jkn_scales, _simple("JKn", _jkn)))
register_replicate_type(
    ReplicateType(
        "BRR", lambda scale, rscales, rho, R: (1.0 / R, rscales), _half_sample, half_sample=True, keeps_fpc=False
    )
)
register_replicate_type(
    ReplicateType(
        "Fay",
        lambda scale, rscales, rho, R: (1.0 / (R * (1 - rho) ** 2), rscales),
        _half_sample,
        half_sample=True,
        keeps_fpc=False,
    )
)
register_replicate_type(
    ReplicateType("bootstrap", _given(lambda R: 1.0 / (R - 1)), _simple("bootstrap", _bootstrap, draws=True))
)
register_replicate_type(ReplicateType("SDR", _sdr_scales, aliases=("successive-difference",)))
register_replicate_type(ReplicateType("ACS", _sdr_scales))
register_replicate_type(ReplicateType("other", _given(lambda R: None)))
register_replicate_type(
    ReplicateType("subbootstrap", None, _simple("subbootstrap", _subbootstrap, draws=True), keeps_fpc=False)
)

#: the types build_replicates (as.svrepdesign) can build, in registration order
BUILT_TYPES: tuple[str, ...] = tuple(n for n, t in REPLICATE_TYPES.items() if t.build is not None)
