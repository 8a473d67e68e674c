# make_golden_likelihood.R -- golden values for quietpoll.estimators.likelihood.likelihood_ci,
# computed with R's survey package: svyciprop(~y, design, method = "likelihood", level, df).
#
# Writes tests/reference/golden/likelihood.json: a list of cases, each with
#   name, y (0/1 of the analysis-domain rows), w (their sampling weights), p (svymean),
#   var (vcov(svymean)), level, df (number, or the string "Inf"), n_rows (rows of the design the
#   model is fitted on: larger than length(y) only for subsets of calibrated designs, where R keeps
#   out-of-domain rows with zero weight), ci (R's interval; null for NA, both null when R stops).
#
# Run from the repository root:  Rscript tests/reference/make_golden_likelihood.R
# Requires survey (4.1.1 used) and jsonlite. Deterministic.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
if (!dir.exists("tests/reference")) stop("run from the repository root")
data(api)

cases <- list()
add_case <- function(name, design, expr, levels = c(0.9, 0.95, 0.99), dfs = c(degf(design), Inf)) {
  design <- eval(bquote(update(design, .y = as.numeric(.(expr)))))
  w <- weights(design, "sampling")
  keep <- w != 0
  m <- svymean(~.y, design)
  for (level in levels) for (df in dfs) {
    # an error in R (e.g. the profile grid running to +-Inf at extreme levels) is recorded as NA, NA
    ci <- tryCatch(
      as.numeric(attr(suppressWarnings(svyciprop(~.y, design, method = "likelihood", level = level, df = df)),
                      "ci")),
      error = function(e) c(NA_real_, NA_real_))
    cases[[length(cases) + 1]] <<- list(
      name = sprintf("%s level=%g df=%s", name, level, format(df)),
      y = as.numeric(design$variables$.y[keep]), w = as.numeric(w[keep]),
      p = unname(coef(m)[1]), var = unname(vcov(m)[1, 1]),
      level = level, df = if (is.infinite(df)) "Inf" else df,
      n_rows = nrow(design),
      ci = lapply(ci, function(v) if (is.na(v)) NULL else v))
  }
}

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dsrs <- svydesign(id = ~1, weights = ~pw, data = apisrs, fpc = ~fpc)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
dsmall <- svydesign(id = ~1, weights = ~pw, data = apisrs[c(1:10, 101:102), ])
rare <- apistrat; rare$rare <- as.numeric(seq_len(nrow(rare)) %in% c(3, 150))
drare <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = rare, fpc = ~fpc)
dcal <- calibrate(dclus1, ~stype + api99,
                  c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069))
dpost <- postStratify(dstrat, ~stype, data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018)))

add_case("apistrat sch.wide", dstrat, quote(sch.wide == "Yes"))
add_case("apistrat awards", dstrat, quote(awards == "Yes"))
add_case("apiclus1 comp.imp", dclus1, quote(comp.imp == "Yes"))
add_case("apiclus1 awards", dclus1, quote(awards == "Yes"))
add_case("apisrs awards", dsrs, quote(awards == "Yes"))
add_case("apisrs both", dsrs, quote(both == "Yes"))
add_case("apiclus2 sch.wide", dclus2, quote(sch.wide == "Yes"))
add_case("small n=12 awards", dsmall, quote(awards == "Yes"))
add_case("apistrat rare 2/200", drare, quote(rare == 1))
add_case("subset apistrat stype==H sch.wide", subset(dstrat, stype == "H"), quote(sch.wide == "Yes"))
add_case("subset apiclus1 stype==E awards", subset(dclus1, stype == "E"), quote(awards == "Yes"))
add_case("subset poststratified apistrat stype==H sch.wide", subset(dpost, stype == "H"),
         quote(sch.wide == "Yes"), levels = 0.95)
add_case("calibrated apiclus1 sch.wide", dcal, quote(sch.wide == "Yes"), levels = c(0.9, 0.95))
add_case("subset calibrated apiclus1 stype==E awards", subset(dcal, stype == "E"),
         quote(awards == "Yes"), levels = 0.95)
# extreme levels / small df: huge profiling steps, limits at 0 or beyond the profile (NA), R errors
add_case("extreme small n awards", dsmall, quote(awards == "Yes"), levels = c(0.999, 0.9999), dfs = c(1, 3))
add_case("extreme apiclus1 awards", dclus1, quote(awards == "Yes"), levels = 0.999, dfs = c(2, 3))
add_case("extreme apiclus2 sch.wide", dclus2, quote(sch.wide == "Yes"), levels = c(0.999, 0.9999), dfs = 10)

dir.create("tests/reference/golden", showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(cases, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE),
           "tests/reference/golden/likelihood.json")
cat(length(cases), "cases written\n")
