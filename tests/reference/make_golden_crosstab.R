# make_golden_crosstab.R -- golden values for quietpoll.estimators.crosstab.crosstab, computed with
# R's survey package: svychisq(~row + col, design, statistic = "F" / "Chisq") and the cell
# proportions svymean(~interaction(factor(row), factor(col)), design, na.rm = TRUE).
#
# Writes tests/reference/golden/crosstab.json: {r_version, survey_version, cases: [...]}; each case has
#   name, data (a CSV in tests/reference/data, read with read.csv as written by make_golden.R),
#   design (the same spec dict as golden/estimates.json, replicate scale/rscales at full precision),
#   extra (derived columns added to the data, one value per row, null for NA), row, col, statistic,
#   row_levels, col_levels, proportions / se (r x c, list of rows), value (R's reported statistic:
#   F for "F", Pearson's X-squared for "Chisq"), ndf, ddf (null for "Chisq"), p_value,
#   pearson (Pearson's X^2 of svytable(Ntotal = nrow)), n (rows with both variables observed).
#
# Run from the repository root:  Rscript tests/reference/make_golden_crosstab.R
# Requires survey (4.1.1 used) and jsonlite (statistics written with 17 significant digits). Deterministic.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
if (!dir.exists("tests/reference")) stop("run from the repository root")

read_data <- function(name) read.csv(file.path("tests/reference/data", paste0(name, ".csv")),
                                     stringsAsFactors = FALSE)
fml <- function(cols) {
  if (is.null(cols) || length(cols) == 0) return(NULL)
  as.formula(paste("~", paste(sprintf("`%s`", cols), collapse = " + ")))
}
taylor_spec <- function(weights = NULL, strata = NULL, ids = character(0), fpc = character(0), nest = FALSE) {
  list(kind = "taylor", weights = weights, probs = NULL, strata = strata, ids = I(ids), fpc = I(fpc),
       nest = nest, lonely_psu = "fail")
}
build_design <- function(spec, data) {
  if (spec$kind == "taylor") {
    ids <- if (length(spec$ids) == 0) ~1 else fml(spec$ids)
    svydesign(ids = ids, strata = fml(spec$strata), weights = fml(spec$weights), fpc = fml(spec$fpc),
              nest = spec$nest, data = data)
  } else {
    r <- spec$replicates
    cols <- grep("^rw[0-9]+$", names(data), value = TRUE)
    svrepdesign(data = data, repweights = data[, cols], weights = fml(spec$weights), type = r$type,
                combined.weights = TRUE, mse = r$mse, scale = r$scale, rscales = r$rscales)
  }
}
# replicate spec with scale and rscales as as.svrepdesign sets them for the base Taylor design
rep_spec <- function(base_design, type, mse = FALSE) {
  rd <- as.svrepdesign(base_design, type = type, compress = FALSE)
  list(kind = "replicate", weights = "pw",
       replicates = list(columns = "rw*", type = type, rho = NULL, scale = rd$scale,
                         rscales = as.vector(rd$rscales), mse = mse))
}

# numbers at full precision (jsonlite stops at 15 significant digits): verbatim JSON text
jnum <- function(x, array = length(x) != 1) {
  s <- ifelse(is.na(x), "null", sprintf("%.17g", x))
  structure(if (array) paste0("[", paste(s, collapse = ", "), "]") else s, class = "json")
}
na_null <- function(x) lapply(x, function(v) if (is.na(v)) NULL else v)

cases <- list()
add_case <- function(name, dataname, spec, row, col, extra = list()) {
  data <- read_data(dataname)
  for (nm in names(extra)) data[[nm]] <- extra[[nm]]
  des <- build_design(spec, data)
  if (spec$kind == "replicate") {
    spec$replicates$scale <- jnum(spec$replicates$scale)
    spec$replicates$rscales <- jnum(spec$replicates$rscales, array = TRUE)
  }
  f <- as.formula(sprintf("~`%s` + `%s`", row, col))
  rv <- data[[row]]; cv <- data[[col]]
  rl <- levels(factor(rv)); cl <- levels(factor(cv))
  fi <- as.formula(sprintf("~interaction(factor(`%s`), factor(`%s`))", row, col))
  m <- svymean(fi, des, na.rm = TRUE)
  P <- matrix(unname(coef(m)), length(rl), length(cl))
  S <- matrix(unname(SE(m)), length(rl), length(cl))
  pearson <- suppressWarnings(chisq.test(svytable(f, des, Ntotal = nrow(data)), correct = FALSE))
  for (stat in c("F", "Chisq")) {
    t <- svychisq(f, des, statistic = stat)
    par <- unname(t$parameter)
    cases[[length(cases) + 1]] <<- list(
      name = sprintf("%s %s x %s %s", name, row, col, stat),
      data = dataname, design = spec,
      extra = if (length(extra)) lapply(extra, na_null) else setNames(list(), character(0)),
      row = row, col = col, statistic = stat,
      row_levels = I(rl), col_levels = I(cl),
      proportions = lapply(seq_len(nrow(P)), function(i) jnum(P[i, ], array = TRUE)),
      se = lapply(seq_len(nrow(S)), function(i) jnum(S[i, ], array = TRUE)),
      value = jnum(unname(t$statistic)), ndf = jnum(par[1]), ddf = if (stat == "F") jnum(par[2]) else NULL,
      p_value = jnum(unname(t$p.value)), pearson = jnum(unname(pearson$statistic)),
      n = sum(!is.na(rv) & !is.na(cv)), method = t$method)
  }
}

sp_strat <- taylor_spec(weights = "pw", strata = "stype", fpc = "fpc")
sp_clus1 <- taylor_spec(weights = "pw", ids = "dnum", fpc = "fpc")
sp_clus2 <- taylor_spec(weights = "pw", ids = c("dnum", "snum"), fpc = c("fpc1", "fpc2"))
sp_clus2_nofpc <- taylor_spec(weights = "pw", ids = c("dnum", "snum"))
sp_srs <- taylor_spec(weights = "pw", fpc = "fpc")

apiclus2 <- read_data("apiclus2")
apistrat <- read_data("apistrat")
# derived columns with missing values (enroll and acs.k3 have NAs in apiclus2)
size3 <- as.character(cut(apiclus2$enroll, c(0, 300, 600, Inf), labels = c("a", "b", "c")))
k3 <- ifelse(apiclus2$acs.k3 > 19, "large", "small")
# numeric levels 2 and 10: R's factor sorts them numerically
grp <- ifelse(apistrat$api00 > 700, 10, 2)

add_case("dclus1", "apiclus1", sp_clus1, "sch.wide", "stype")
add_case("dclus1", "apiclus1", sp_clus1, "stype", "awards")
add_case("dstrat", "apistrat", sp_strat, "stype", "awards")
add_case("dstrat", "apistrat", sp_strat, "comp.imp", "yr.rnd")
add_case("dstrat", "apistrat", sp_strat, "grp", "stype", extra = list(grp = grp))
add_case("dsrs", "apisrs", sp_srs, "both", "stype")
add_case("dclus2", "apiclus2", sp_clus2, "comp.imp", "both")
add_case("dclus2", "apiclus2", sp_clus2, "stype", "sch.wide")
add_case("dclus2 nofpc", "apiclus2", sp_clus2_nofpc, "stype", "awards")
add_case("dclus2 NA", "apiclus2", sp_clus2, "size3", "stype", extra = list(size3 = size3))
add_case("dclus2 NA both", "apiclus2", sp_clus2, "size3", "k3", extra = list(size3 = size3, k3 = k3))

apiclus1 <- read_data("apiclus1")
base1 <- svydesign(ids = ~dnum, fpc = ~fpc, weights = ~pw, data = apiclus1)
base_s <- svydesign(ids = ~1, strata = ~stype, fpc = ~fpc, weights = ~pw, data = apistrat)
jk1 <- rep_spec(base1, "JK1")
jk1_mse <- rep_spec(base1, "JK1", mse = TRUE)
jkn <- rep_spec(base_s, "JKn")
add_case("jk1", "apiclus1_jk1", jk1, "sch.wide", "stype")
add_case("jk1", "apiclus1_jk1", jk1, "stype", "awards")
add_case("jk1 mse", "apiclus1_jk1", jk1_mse, "stype", "awards")
add_case("jkn", "apistrat_jkn", jkn, "stype", "awards")
add_case("jkn", "apistrat_jkn", jkn, "both", "yr.rnd")

out <- list(r_version = R.version.string, survey_version = as.character(packageVersion("survey")),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE,
                  json_verbatim = TRUE),
           "tests/reference/golden/crosstab.json")
cat("wrote", length(cases), "cases\n")
