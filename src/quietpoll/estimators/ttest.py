"""Design-based t-test of a difference in means between two groups (R's svyttest(Y ~ G)): the
slope of a gaussian svyglm of Y on the group, with its design-based SE, the residual df, and the
interval of confint.svyglm."""

from __future__ import annotations

from ..errors import EstimationError
from .glm import glm


def ttest(design, var: str, group: str, *, subset=None, level: float = 0.95) -> dict:
    """{"estimate", "se", "statistic", "df", "p", "ci_low", "ci_high"} for mean(Y | second level)
    minus mean(Y | first level) (levels in R's order), plus "reference" and "level"."""
    res = glm(design, f"`{var}` ~ factor(`{group}`)", "gaussian", subset=subset, level=level)
    if len(res.names) != 2:
        raise EstimationError(
            f"ttest: group column '{group}' must have exactly two levels among the rows "
            f"with '{var}' observed (it has {len(res.names)})"
        )
    row = res.coefficients()[1]
    if row["aliased"]:
        raise EstimationError(f"ttest: group column '{group}' has one level only among the rows with weight")
    name = row["term"].split(")", 1)[-1]  # factor(`G`)LEVEL -> LEVEL
    return {
        "estimate": row["estimate"],
        "se": row["se"],
        "statistic": row["statistic"],
        "df": row["df"],
        "p": row["p"],
        "ci_low": row["ci_low"],
        "ci_high": row["ci_high"],
        "level": res.level,
        "variable": var,
        "group": group,
        "contrast_level": name,
        "n": res.n,
        "design": res.design,
    }
