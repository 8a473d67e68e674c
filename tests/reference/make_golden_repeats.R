# make_golden_repeats.R -- golden values for estimates on a repeat table (persons of a household roster)
# analysed with the parent's (household's) design, computed with R's survey package on the persons
# joined to their households:
#   element-sampled households:  svydesign(ids = ~KEY, strata = ~stratum, weights = ~w, data = joined)
#   clustered households:        svydesign(ids = ~cluster, strata = ~stratum, weights = ~w, nest = TRUE,
#                                          data = joined)
# svymean(~age), svymean(~employed) (0/1) and svymean(~sex) (a factor: one share per level).
#
# The data are SYNTHETIC, drawn here (set.seed below) and written in ODK's layout for a repeat:
#   tests/reference/data/repeat_hh.csv         households: KEY, stratum, cluster, w, hh_size
#   tests/reference/data/repeat_hh-person.csv  persons:    PARENT_KEY, KEY, age, sex, employed
# Writes tests/reference/golden/repeats.json: {r_version, survey_version, cases: [{name, design,
# estimates: [{statistic, variable, level, estimate, se}]}]}, at 17 significant digits.
#
# Run from the repository root:  Rscript tests/reference/make_golden_repeats.R
# Requires survey (4.1.1 used) and jsonlite. Deterministic.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
if (!dir.exists("tests/reference")) stop("run from the repository root")

set.seed(20261204)
n_hh <- 180
stratum <- rep(c("north", "south", "east"), times = c(70, 60, 50))
cluster <- paste0(stratum, "_c", sample(1:6, n_hh, replace = TRUE))
hh <- data.frame(
  KEY = sprintf("uuid:hh-%03d", 1:n_hh),
  stratum = stratum,
  cluster = cluster,
  w = round(runif(n_hh, 20, 120), 3),
  hh_size = sample(1:7, n_hh, replace = TRUE),
  stringsAsFactors = FALSE
)
idx <- rep(seq_len(n_hh), hh$hh_size)
persons <- data.frame(
  PARENT_KEY = hh$KEY[idx],
  KEY = sprintf("%s/person[%d]", hh$KEY[idx], sequence(hh$hh_size)),
  age = pmax(0, round(rnorm(length(idx), 30 + 4 * (hh$stratum[idx] == "south"), 18))),
  sex = sample(c("female", "male"), length(idx), replace = TRUE),
  stringsAsFactors = FALSE
)
persons$employed <- as.integer(runif(nrow(persons)) < ifelse(persons$age >= 18, 0.55, 0.05))
write.csv(hh, "tests/reference/data/repeat_hh.csv", row.names = FALSE)
write.csv(persons, "tests/reference/data/repeat_hh-person.csv", row.names = FALSE)

joined <- merge(persons, hh[, c("KEY", "stratum", "cluster", "w")], by.x = "PARENT_KEY", by.y = "KEY")
joined$sex <- factor(joined$sex)

rows_of <- function(des) {
  out <- list()
  for (v in c("age", "employed")) {
    m <- svymean(as.formula(paste0("~", v)), des)
    out[[length(out) + 1]] <- list(statistic = "mean", variable = v, level = NULL,
                                   estimate = as.numeric(coef(m)), se = as.numeric(SE(m)))
  }
  m <- svymean(~sex, des)
  for (k in seq_along(coef(m))) {
    out[[length(out) + 1]] <- list(statistic = "proportion", variable = "sex",
                                   level = sub("^sex", "", names(coef(m))[k]),
                                   estimate = as.numeric(coef(m)[k]), se = as.numeric(SE(m))[k])
  }
  out
}

cases <- list(
  list(name = "element_households",
       design = list(weights = "w", strata = "stratum", ids = list(), nest = FALSE),
       estimates = rows_of(svydesign(ids = ~PARENT_KEY, strata = ~stratum, weights = ~w, data = joined))),
  list(name = "clustered_households",
       design = list(weights = "w", strata = "stratum", ids = list("cluster"), nest = TRUE),
       estimates = rows_of(svydesign(ids = ~cluster, strata = ~stratum, weights = ~w, nest = TRUE,
                                     data = joined)))
)
out <- list(r_version = R.version.string, survey_version = as.character(packageVersion("survey")),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, null = "null", pretty = TRUE, digits = NA),
           "tests/reference/golden/repeats.json")
