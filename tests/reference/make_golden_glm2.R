# make_golden_glm2.R -- golden values for quietpoll's inference on GLMs and descriptives, computed with
# R's survey package: regTermTest(method = "LRT") (Rao-Scott working LRT, saddlepoint p), svypredmeans,
# svycontrast (linear and nonlinear, on svyglm and on svyby(..., covmat = TRUE)), svyvar, svytable,
# and the row / column percentages and weighted counts of crosstab (svyby(~col, ~row, svymean),
# svytotal of the cells).
#
# The designs are make_golden_glm.R's (its lines up to "# ---- models" are evaluated here), on
# tests/reference/data. Writes tests/reference/golden/glm2.json. Run from the repository root:
#   Rscript tests/reference/make_golden_glm2.R
# Requires R with survey (4.1.1 was used) and jsonlite; deterministic.

lines <- readLines("tests/reference/make_golden_glm.R")
eval(parse(text = lines[seq_len(grep("^# ---- models", lines)[1] - 1)]))

design_of <- function(dname, factors = character(0)) {
  d <- designs[[dname]]
  des <- weighted(d, build(d))
  for (f in factors) des$variables[[f]] <- factor(des$variables[[f]])
  des
}
quiet <- function(expr) withCallingHandlers(expr, warning = function(w) invokeRestart("muffleWarning"))
mat <- function(m) lapply(seq_len(nrow(m)), function(i) num(m[i, ]))
fams <- list(gaussian = gaussian(), binomial = binomial(), quasibinomial = quasibinomial(), poisson = poisson())
tdesigns <- c("strat", "clus1", "clus2", "clus1_cal", "jk1", "jkn", "boot", "fay")

# ---- regTermTest(method = "LRT"): residual df (pFsum) and df = Inf (pchisqsum), saddlepoint ----
lrt <- list()
run_lrt <- function(dname, f, fam, term, subset = NULL) {
  des <- design_of(dname)
  if (!is.null(subset)) des <- eval(parse(text = sprintf("subset(des, %s)", subset)))
  m <- quiet(do.call(svyglm, list(as.formula(f), des, family = fams[[fam]])))
  a <- quiet(regTermTest(m, as.formula(paste("~", term)), method = "LRT"))
  b <- quiet(regTermTest(m, as.formula(paste("~", term)), method = "LRT", df = Inf))
  lrt[[length(lrt) + 1]] <<- list(id = unbox(paste(dname, fam, gsub("[^a-z]", "", term), length(lrt), sep = "-")),
    data = unbox(designs[[dname]]$data), dname = unbox(dname), formula = unbox(f), family = unbox(fam), term = unbox(term),
    subset = scalar(subset), chisq = unbox(as.numeric(a$chisq)), df = unbox(a$df), ddf = unbox(a$ddf),
    lambda = num(a$lambda), p = unbox(as.numeric(a$p)), p_inf = unbox(as.numeric(b$p)))
}
for (dname in setdiff(tdesigns, "fay")) {   # fay: 4 replicates, residual df <= 0 (R's pFsum fails)
  run_lrt(dname, "hi700 ~ ell + meals + stype", "binomial", "stype")
  run_lrt(dname, "api00 ~ ell + meals + stype", "gaussian", "ell + meals")
  run_lrt(dname, "meals ~ ell + stype", "poisson", "ell")
}
run_lrt("strat", "api00 ~ ell + meals", "gaussian", "ell", subset = "meals > 20")
run_lrt("clus1", "hi700 ~ ell * meals", "quasibinomial", "ell:meals")

# ---- svypredmeans(model, ~group) ----------------------------------------------------------
predmeans <- list()
run_pm <- function(dname, f, fam, group) {
  des <- design_of(dname, group)
  m <- quiet(do.call(svyglm, list(as.formula(f), des, family = fams[[fam]])))
  p <- quiet(svypredmeans(m, as.formula(paste("~", group))))
  predmeans[[length(predmeans) + 1]] <<- list(id = unbox(paste(dname, fam, group, sep = "-")),
    data = unbox(designs[[dname]]$data), dname = unbox(dname), formula = unbox(f), family = unbox(fam),
    group = unbox(group), levels = names(coef(p)), estimate = num(coef(p)), vcov = mat(vcov(p)))
}
for (dname in c("strat", "clus1", "clus2", "clus1_cal")) {   # R 4.1.1's svypredmeans fails on replicate designs
  run_pm(dname, "hi700 ~ ell + meals", "binomial", "stype")
  run_pm(dname, "api00 ~ ell + meals", "gaussian", "awards")
}

# ---- svycontrast on svyglm (linear, several, nonlinear) ------------------------------------
contrasts <- list()
for (dname in c("strat", "clus1_cal", "jkn", "boot")) {
  des <- design_of(dname)
  m <- if (inherits(des, "svyrep.design"))   # svycontrast.svrepglm needs the replicates
    quiet(svyglm(hi700 ~ ell + meals + stype, design = des, family = quasibinomial(), return.replicates = TRUE))
  else quiet(svyglm(hi700 ~ ell + meals + stype, design = des, family = quasibinomial()))
  C <- rbind(HM = c(0, 0, 0, 1, -1), sum = c(0, 1, 1, 0, 0))
  # R 4.1.1's svycontrast.svrepglm fails on linear contrasts (crossprod of the replicates with the
  # contrast rows is non-conformable): there, its own definition C b, C V C'
  lin <- if (inherits(des, "svyrep.design")) structure(drop(C %*% coef(m)), var = C %*% vcov(m) %*% t(C),
                                                       class = "svystat")
  else svycontrast(m, list(HM = C[1, ], sum = C[2, ]))
  nlq <- list(or = quote(exp(stypeH - stypeM)), ratio = quote(`(Intercept)` / meals))
  nl <- svycontrast(m, nlq)   # on replicate designs: re-evaluated on the replicate coefficients
  m0 <- quiet(svyglm(hi700 ~ ell + meals + stype, design = des, family = quasibinomial()))
  nld <- svycontrast(m0, nlq)   # without replicates: the delta method
  contrasts[[length(contrasts) + 1]] <- list(id = unbox(dname), data = unbox(designs[[dname]]$data), dname = unbox(dname),
    formula = unbox("hi700 ~ ell + meals + stype"), family = unbox("quasibinomial"),
    linear = list(estimate = num(coef(lin)), vcov = mat(vcov(lin))),
    nonlinear = list(estimate = num(coef(nl)), vcov = mat(vcov(nl))),
    nonlinear_delta = list(estimate = num(coef(nld)), vcov = mat(vcov(nld))))
}

# ---- svyby(..., covmat = TRUE) + svycontrast: differences between domains -------------------
domains <- list()
for (dname in setdiff(tdesigns, "clus1_cal")) {   # R 4.1.1's svyby(covmat = TRUE) fails on calibrated designs
  des <- design_of(dname)
  by <- svyby(~api00, ~stype, des, svymean, covmat = TRUE)
  lv <- as.character(by$stype)
  cm <- svycontrast(by, list(H = c(-1, 1, 0), M = c(-1, 0, 1)))
  rel <- svycontrast(by, list(ratio = quote(H / E)))
  domains[[length(domains) + 1]] <- list(id = unbox(dname), data = unbox(designs[[dname]]$data), dname = unbox(dname),
    var = unbox("api00"), by = unbox("stype"), levels = lv, estimate = num(coef(by)), vcov = mat(vcov(by)),
    degf = unbox(degf(des)), diff = list(names = names(coef(cm)), estimate = num(coef(cm)), se = num(SE(cm))),
    ratio = list(estimate = unbox(as.numeric(coef(rel))), se = unbox(as.numeric(SE(rel)))))
}

# ---- svyvar, svytable, crosstab percentages and counts ---------------------------------------
descr <- list()
for (dname in tdesigns) {
  des <- design_of(dname, c("stype", "awards"))
  v1 <- svyvar(~api00, des)
  v2 <- svyvar(~avg.ed, des, na.rm = TRUE)   # avg.ed has missing values
  t1 <- svytable(~stype + awards, des)
  t2 <- svytable(~stype + awards, des, Ntotal = 1000, round = TRUE)
  rowp <- svyby(~awards, ~stype, des, svymean)        # share of each awards level within stype
  colp <- svyby(~stype, ~awards, des, svymean)        # share of each stype level within awards
  tot <- svytotal(~interaction(stype, awards), des)   # cells, stype fastest
  descr[[length(descr) + 1]] <- list(id = unbox(dname), data = unbox(designs[[dname]]$data), dname = unbox(dname),
    svyvar = list(api00 = list(estimate = unbox(as.numeric(coef(v1))), se = unbox(as.numeric(SE(v1)))),
                  avg.ed = list(estimate = unbox(as.numeric(coef(v2))), se = unbox(as.numeric(SE(v2))))),
    svytable = list(levels = dimnames(t1), counts = mat(unclass(t1)), ntotal_round = mat(unclass(t2))),
    row_percent = list(estimate = mat(100 * matrix(coef(rowp), nrow = 3)),
                       se = mat(100 * matrix(as.matrix(SE(rowp)), nrow = 3))),
    col_percent = list(estimate = mat(t(100 * matrix(coef(colp), nrow = 2))),
                       se = mat(t(100 * matrix(as.matrix(SE(colp)), nrow = 2)))),
    counts = list(estimate = mat(matrix(coef(tot), nrow = 3)), se = mat(matrix(SE(tot), nrow = 3))))
}

write(toJSON(list(survey_version = unbox(as.character(packageVersion("survey"))), lrt = lrt, predmeans = predmeans,
                  contrasts = contrasts, domains = domains, descriptives = descr),
             digits = NA, null = "null", na = "null", auto_unbox = FALSE, pretty = FALSE),
      "tests/reference/golden/glm2.json")
cat("wrote", length(lrt), "LRT,", length(predmeans), "predmeans,", length(domains), "domain cases\n")
