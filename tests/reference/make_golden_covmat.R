# make_golden_covmat.R -- golden values for the joint covariance quietpoll's estimate tables carry
# (Table.names / coef() / vcov()), computed with R's survey package:
#   svyby(~vars, ~stype, design, svymean, covmat = TRUE)  -> coef() and vcov() of every domain estimate
#   svymean(~api00 + api99, design), svytotal(~api00 + api99, design) -> coef() and vcov()
# on Taylor designs (strata + fpc; clusters + fpc; two stages) and replicate designs (JK1, JKn,
# bootstrap, BRR). The designs are those of golden/estimates.json (same data files in
# tests/reference/data, same spec dicts, so replicate scale and rscales are the numbers stored there).
#
# Writes tests/reference/golden/covmat.json: {r_version, survey_version, cases: [...]}; each case has
#   name, data, design (spec dict), statistic ("mean" | "total"), variables, by (null or a column),
#   domains (the by value of each coefficient, null without by), vars (the variable of each
#   coefficient), coef (q), vcov (q x q, list of rows), all at 17 significant digits.
#
# Run from the repository root:  Rscript tests/reference/make_golden_covmat.R
# Requires survey (4.1.1 used) and jsonlite. Deterministic.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
if (!dir.exists("tests/reference")) stop("run from the repository root")

estimates <- fromJSON("tests/reference/golden/estimates.json", simplifyVector = FALSE)
spec_of <- function(dataname) {
  for (c in estimates$cases) if (c$data == dataname) return(c$design)
  stop(paste("no design for", dataname, "in golden/estimates.json"))
}
read_data <- function(name) read.csv(file.path("tests/reference/data", paste0(name, ".csv")),
                                     stringsAsFactors = FALSE)
fml <- function(cols) {
  cols <- unlist(cols)
  if (is.null(cols) || length(cols) == 0) return(NULL)
  as.formula(paste("~", paste(sprintf("`%s`", cols), collapse = " + ")))
}
build_design <- function(spec, data) {
  if (spec$kind == "taylor") {
    ids <- if (length(spec$ids) == 0) ~1 else fml(spec$ids)
    svydesign(ids = ids, strata = fml(spec$strata), weights = fml(spec$weights), fpc = fml(spec$fpc),
              nest = isTRUE(spec$nest), data = data)
  } else {
    r <- spec$replicates
    cols <- grep("^rw[0-9]+$", names(data), value = TRUE)
    svrepdesign(data = data, repweights = data[, cols], weights = fml(spec$weights), type = r$type,
                combined.weights = TRUE, mse = isTRUE(r$mse), scale = r$scale, rscales = unlist(r$rscales),
                rho = r$rho)
  }
}
jnum <- function(x) {
  s <- ifelse(is.na(x), "null", sprintf("%.17g", x))
  structure(paste0("[", paste(s, collapse = ", "), "]"), class = "json")
}
jmat <- function(m) structure(paste0("[", paste(apply(m, 1, function(r) jnum(r)), collapse = ", "), "]"),
                              class = "json")

cases <- list()
add_case <- function(name, dataname, statistic, variables, by = NULL) {
  spec <- spec_of(dataname)
  des <- build_design(spec, read_data(dataname))
  fn <- if (statistic == "mean") svymean else svytotal
  if (is.null(by)) {
    est <- fn(fml(variables), des)
    nm <- names(coef(est))
    domains <- NULL
    vars <- nm
  } else {
    est <- svyby(fml(variables), fml(by), des, fn, covmat = TRUE)
    nm <- names(coef(est))
    parts <- strsplit(nm, ":", fixed = TRUE)
    domains <- vapply(parts, function(p) p[1], "")
    vars <- if (length(variables) == 1) rep(variables, length(nm)) else vapply(parts, function(p) p[2], "")
  }
  V <- as.matrix(vcov(est))
  cases[[length(cases) + 1]] <<- list(
    name = name, data = dataname, design = spec, statistic = statistic, variables = I(variables),
    by = by, domains = if (is.null(domains)) NULL else I(domains), vars = I(vars),
    coef = jnum(as.vector(coef(est))), vcov = jmat(V))
}

for (d in c("apistrat", "apiclus1", "apiclus2", "apiclus1_jk1", "apistrat_jkn", "apistrat_boot", "apistrat_brr")) {
  add_case(paste0("svyby mean api00 by stype, ", d), d, "mean", "api00", by = "stype")
  add_case(paste0("svyby mean api00+api99 by stype, ", d), d, "mean", c("api00", "api99"), by = "stype")
  add_case(paste0("svyby total api00 by stype, ", d), d, "total", "api00", by = "stype")
  add_case(paste0("svymean api00+api99, ", d), d, "mean", c("api00", "api99"))
  add_case(paste0("svytotal api00+api99, ", d), d, "total", c("api00", "api99"))
}

out <- list(r_version = R.version.string, survey_version = as.character(packageVersion("survey")),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, null = "null", pretty = TRUE, digits = NA, json_verbatim = TRUE),
           "tests/reference/golden/covmat.json")
cat("wrote", length(cases), "cases to tests/reference/golden/covmat.json\n")
