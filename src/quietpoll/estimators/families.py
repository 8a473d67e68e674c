"""GLM families with R's default links, written as R's `stats` writes them (including the
thresholds of the C code behind `binomial()`), so an IRLS run here takes the same steps as R's
`glm.fit`: gaussian (identity), binomial and quasibinomial (logit), poisson and quasipoisson (log),
Gamma (inverse)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import EstimationError

EPS = np.finfo(float).eps
_THRESH, _MTHRESH, _INVEPS = 30.0, -30.0, 1.0 / EPS


@dataclass(frozen=True)
class Family:
    name: str
    link: str
    linkfun: Callable[[np.ndarray], np.ndarray]
    linkinv: Callable[[np.ndarray], np.ndarray]
    mu_eta: Callable[[np.ndarray], np.ndarray]
    variance: Callable[[np.ndarray], np.ndarray]
    dev_resids: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    mustart: Callable[[np.ndarray, np.ndarray], np.ndarray]
    validmu: Callable[[np.ndarray], bool]
    valideta: Callable[[np.ndarray], bool]
    check: Callable[[np.ndarray, str], None]
    # linkinv and mu_eta of one eta together, sharing their work (the same values as the two calls)
    linkinv_mu_eta: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None

    @property
    def plain_identity(self) -> bool:
        """gaussian with the identity link: mu_eta and the variance are 1 (no division by ones)."""
        return self.name == "gaussian" and self.link == "identity"


def _logit_linkinv(eta):
    tmp = np.where(eta < _MTHRESH, EPS, np.where(eta > _THRESH, _INVEPS, np.exp(np.clip(eta, -700, 700))))
    return tmp / (1 + tmp)


def _logit_mu_eta(eta):
    e = np.exp(np.clip(eta, -700, 700))
    return np.where((eta > _THRESH) | (eta < _MTHRESH), EPS, e / ((1 + e) * (1 + e)))


def _logit_both(eta):
    """(_logit_linkinv(eta), _logit_mu_eta(eta)) from one exp: the same operations, so the same bits."""
    e = np.exp(np.clip(eta, -700, 700))
    lo, hi = eta < _MTHRESH, eta > _THRESH
    tmp = np.where(lo, EPS, np.where(hi, _INVEPS, e))
    mu = tmp / (1 + tmp)
    return mu, np.where(hi | lo, EPS, e / ((1 + e) * (1 + e)))


def _ylogy(y, mu):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y != 0, y * np.log(np.where(y != 0, y, 1.0) / mu), 0.0)


def _binom_dev(y, mu, wt):
    if ((y == 0) | (y == 1)).all():
        # a 0/1 response: one of R's two y log(y / mu) terms is 0 (exactly), the other log(1 / p)
        # with p = mu or 1 - mu; one log instead of two, the same bits
        return 2 * wt * np.log(1 / np.where(y == 1, mu, 1 - mu))
    return 2 * wt * (_ylogy(y, mu) + _ylogy(1 - y, 1 - mu))


def _pois_dev(y, mu, wt):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(y > 0, wt * (y * np.log(np.where(y > 0, y, 1.0) / mu) - (y - mu)), mu * wt)
    return 2 * r


def _gamma_dev(y, mu, wt):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -2 * wt * (np.log(np.where(y == 0, 1.0, y / mu)) - (y - mu) / mu)


def _check_binary(name):
    def check(y, response):
        if name == "binomial":
            bad = (y != 0) & (y != 1)
            if bad.any():
                v = y[np.flatnonzero(bad)[0]]
                raise EstimationError(
                    f"family binomial needs a 0/1 response: '{response}' has the value {v:g}; "
                    "use family quasibinomial for proportions between 0 and 1"
                )
        elif ((y < 0) | (y > 1)).any():
            v = y[np.flatnonzero((y < 0) | (y > 1))[0]]
            raise EstimationError(f"family {name} needs a response between 0 and 1: '{response}' has the value {v:g}")

    return check


def _check_nonneg(name):
    def check(y, response):
        if (y < 0).any():
            raise EstimationError(f"family {name} needs a response >= 0: '{response}' has negative values")

    return check


def _check_positive(y, response):
    if (y <= 0).any():
        raise EstimationError(f"family Gamma needs a response > 0: '{response}' has values <= 0")


def _binomial_start(y, w):
    return (w * y + 0.5) / (w + 1)


def _finite_positive(mu):
    return bool(np.isfinite(mu).all() and (mu > 0).all())


def _gaussian() -> Family:
    ident = lambda x: x  # noqa: E731
    return Family(
        "gaussian",
        "identity",
        ident,
        ident,
        np.ones_like,
        np.ones_like,
        lambda y, mu, wt: wt * (y - mu) ** 2,
        lambda y, w: y.copy(),
        lambda mu: True,
        lambda eta: True,
        lambda y, r: None,
    )


def _binomial(name: str) -> Family:
    return Family(
        name,
        "logit",
        lambda mu: np.log(mu / (1 - mu)),
        _logit_linkinv,
        _logit_mu_eta,
        lambda mu: mu * (1 - mu),
        _binom_dev,
        _binomial_start,
        lambda mu: bool((mu > 0).all() and (mu < 1).all()),  # NaN and infinities fail one of them
        lambda eta: True,
        _check_binary(name),
        _logit_both,
    )


def _poisson(name: str) -> Family:
    def inv(eta):
        return np.maximum(np.exp(np.clip(eta, -745, 709.7)), EPS)

    return Family(
        name,
        "log",
        np.log,
        inv,
        inv,
        lambda mu: mu,
        _pois_dev,
        lambda y, w: y + 0.1,
        _finite_positive,
        lambda eta: True,
        _check_nonneg(name),
    )


def _gamma() -> Family:
    return Family(
        "Gamma",
        "inverse",
        lambda mu: 1 / mu,
        lambda eta: 1 / eta,
        lambda eta: -1 / eta**2,
        lambda mu: mu**2,
        _gamma_dev,
        lambda y, w: y.copy(),
        _finite_positive,
        lambda eta: bool(np.isfinite(eta).all() and (eta != 0).all()),
        _check_positive,
    )


FAMILIES: dict[str, Callable[[], Family]] = {
    "gaussian": _gaussian,
    "binomial": lambda: _binomial("binomial"),
    "quasibinomial": lambda: _binomial("quasibinomial"),
    "poisson": lambda: _poisson("poisson"),
    "quasipoisson": lambda: _poisson("quasipoisson"),
    "Gamma": _gamma,
}


def get_family(name: str | Family) -> Family:
    if isinstance(name, Family):
        return name
    key = {k.lower(): k for k in FAMILIES}.get(str(name).lower())
    if key is None:
        raise EstimationError(f"family must be one of {', '.join(FAMILIES)}; got '{name}'")
    return FAMILIES[key]()
