# make_golden_sensitive.R -- golden values for quietpoll's sensitive-question estimators
# (quietpoll.estimators.sensitive: list_experiment, randomized_response), computed with R's survey
# package on SYNTHETIC data generated here (no real respondents).
#
# Writes (paths from the repository root):
#   tests/reference/data/sensitive_synthetic.csv       SYNTHETIC stratified cluster sample (4 strata,
#       24 PSUs, fpc) with a list experiment (J = 3 control items), three randomized-response answers
#       (forced, Warner, unrelated question) and unequal element weights
#   tests/reference/data/sensitive_synthetic_boot.csv  the same rows + 40 bootstrap replicate weight
#       columns rw01..rw40 (combined weights from as.svrepdesign(type = "bootstrap") of the cluster design)
#   tests/reference/golden/sensitive.json              {r_version, survey_version, cases: [...]}; each case:
#       name, data, design (spec dict as golden/estimates.json), statistic ("list_experiment" |
#       "randomized_response"), args (count/treatment, or answer/rr_design/probabilities), by (list),
#       rows: [{domain, estimate, se}]
#
# List experiment: b <- svyby(~count, ~treat (+ domain), design, svymean, covmat = TRUE), then
#   svycontrast(b, mean(treated) - mean(control)) per domain: the difference and its SE (covariance
#   of the two means included).
# Randomized response: svymean (svyby for domains) of the 0/1 observed answer, then the analytic
#   correction pi = (mean - c) / a, SE = SE(mean) / |a| with
#   forced (p_truth, p_yes): a = p_truth, c = p_yes; Warner (p): a = 2p - 1, c = 1 - p;
#   unrelated (p, p_unrelated): a = p, c = (1 - p) p_unrelated.
#
# All statistics are computed from the CSV files as read back by read.csv(), so the golden values
# belong to exactly the numbers the Python side reads.
# Run from the repository root:  Rscript tests/reference/make_golden_sensitive.R
# Requires survey (4.1.1 used) and jsonlite. Deterministic (fixed seeds).

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
if (!dir.exists("tests/reference")) stop("run from the repository root")
options(survey.lonely.psu = "fail", survey.replicates.mse = FALSE, warn = 1)
data_dir <- "tests/reference/data"
read_data <- function(name) read.csv(file.path(data_dir, paste0(name, ".csv")), stringsAsFactors = FALSE)
write_data <- function(df, name) write.csv(df, file.path(data_dir, paste0(name, ".csv")), row.names = FALSE)

# ---- SYNTHETIC data --------------------------------------------------------------------------
set.seed(20261122)
Nh <- c(40, 30, 25, 50)      # PSUs in the population of each stratum
nh <- c(6, 5, 6, 7)          # PSUs sampled
rows <- list()
psu_id <- 0
for (h in seq_along(Nh)) {
  for (j in seq_len(nh[h])) {
    psu_id <- psu_id + 1
    m <- sample(8:16, 1)
    Mi <- sample(40:120, 1)                     # elements in the PSU
    u <- rnorm(1, 0, 0.5)                       # PSU effect on the control items and the prevalence
    prev <- plogis(qlogis(0.25 + 0.05 * h) + u)
    sens <- rbinom(m, 1, prev)
    treat <- rbinom(m, 1, 0.5)
    count <- rbinom(m, 3, plogis(u - 0.2)) + treat * sens
    spin <- runif(m)
    forced <- ifelse(spin < 0.15, 1, ifelse(spin < 0.30, 0, sens))          # p_truth 0.7, p_yes 0.15
    warner <- ifelse(runif(m) < 0.7, sens, 1 - sens)                       # p = 0.7
    unrel <- ifelse(runif(m) < 0.6, sens, rbinom(m, 1, 0.4))               # p = 0.6, p_unrelated 0.4
    rows[[psu_id]] <- data.frame(
      stratum = h, psu = psu_id, fpc = Nh[h], pw = round(Nh[h] / nh[h] * Mi / m, 4),
      w_el = round(runif(m, 1, 6), 3), region = sample(c("north", "south", "west"), m, replace = TRUE),
      treat = treat, count = count, rr_forced = forced, rr_warner = warner, rr_unrelated = unrel)
  }
}
dat <- do.call(rbind, rows)
write_data(dat, "sensitive_synthetic")
dat <- read_data("sensitive_synthetic")

des_clus <- svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~pw, data = dat)
des_elem <- svydesign(ids = ~1, weights = ~w_el, data = dat)
set.seed(20261123)
rd <- as.svrepdesign(des_clus, type = "bootstrap", replicates = 40, compress = FALSE)
rw <- weights(rd, "analysis")
colnames(rw) <- sprintf("rw%02d", seq_len(ncol(rw)))
write_data(cbind(dat, rw), "sensitive_synthetic_boot")
boot <- read_data("sensitive_synthetic_boot")
rw_cols <- grep("^rw[0-9]+$", names(boot), value = TRUE)
des_boot <- svrepdesign(data = boot, repweights = boot[, rw_cols], weights = ~pw, type = "bootstrap",
                        combined.weights = TRUE, scale = rd$scale, rscales = rd$rscales)

jnum <- function(x, array = length(x) != 1) {
  s <- ifelse(is.na(x), "null", sprintf("%.17g", x))
  structure(if (array) paste0("[", paste(s, collapse = ", "), "]") else s, class = "json")
}
specs <- list(
  clus = list(data = "sensitive_synthetic", design = des_clus,
              spec = list(kind = "taylor", weights = "pw", strata = "stratum", ids = I("psu"), fpc = I("fpc"),
                          nest = FALSE, lonely_psu = "fail")),
  elem = list(data = "sensitive_synthetic", design = des_elem,
              spec = list(kind = "taylor", weights = "w_el", strata = NULL, ids = I(character(0)),
                          fpc = I(character(0)), nest = FALSE, lonely_psu = "fail")),
  boot = list(data = "sensitive_synthetic_boot", design = des_boot,
              spec = list(kind = "replicate", weights = "pw",
                          replicates = list(columns = "rw*", type = "bootstrap", rho = NULL,
                                            scale = jnum(rd$scale), rscales = jnum(as.vector(rd$rscales), TRUE),
                                            mse = FALSE)))
)

cases <- list()
add <- function(name, sp, statistic, args, by, rows) {
  cases[[length(cases) + 1]] <<- list(name = name, data = sp$data, design = sp$spec, statistic = statistic,
                                      args = args, by = I(by), rows = rows)
}

list_rows <- function(des, by) {
  if (is.null(by)) {
    b <- svyby(~count, ~treat, des, svymean, covmat = TRUE)
    ct <- svycontrast(b, c(-1, 1))       # levels 0 then 1: treated minus control
    return(list(list(domain = setNames(list(), character(0)), estimate = jnum(unname(coef(ct))),
                     se = jnum(unname(SE(ct))))))
  }
  f <- as.formula(paste("~", by, "+ treat"))
  b <- svyby(~count, f, des, svymean, covmat = TRUE)
  levs <- sort(unique(des$variables[[by]]))
  lapply(levs, function(l) {
    w <- setNames(c(1, -1), c(paste(l, 1, sep = "."), paste(l, 0, sep = ".")))
    ct <- svycontrast(b, w)
    list(domain = setNames(list(l), by), estimate = jnum(unname(coef(ct))), se = jnum(unname(SE(ct))))
  })
}

rr_designs <- list(
  forced = list(col = "rr_forced", args = list(rr_design = "forced", p_truth = 0.7, p_yes = 0.15), a = 0.7, c = 0.15),
  warner = list(col = "rr_warner", args = list(rr_design = "warner", p = 0.7), a = 2 * 0.7 - 1, c = 1 - 0.7),
  unrelated = list(col = "rr_unrelated", args = list(rr_design = "unrelated", p = 0.6, p_unrelated = 0.4),
                   a = 0.6, c = (1 - 0.6) * 0.4)
)
rr_rows <- function(des, rr, by) {
  f <- as.formula(paste("~", rr$col))
  if (is.null(by)) {
    m <- svymean(f, des)
    return(list(list(domain = setNames(list(), character(0)),
                     estimate = jnum((unname(coef(m)) - rr$c) / rr$a), se = jnum(unname(SE(m)) / abs(rr$a)))))
  }
  b <- svyby(f, as.formula(paste("~", by)), des, svymean)
  lapply(seq_len(nrow(b)), function(i) {
    list(domain = setNames(list(as.character(b[[by]][i])), by),
         estimate = jnum((unname(coef(b))[i] - rr$c) / rr$a), se = jnum(unname(SE(b))[i] / abs(rr$a)))
  })
}

for (nm in names(specs)) {
  sp <- specs[[nm]]
  for (by in list(NULL, "region")) {
    byl <- if (is.null(by)) character(0) else by
    tag <- if (is.null(by)) "" else paste(" by", by)
    add(paste0(nm, " list", tag), sp, "list_experiment", list(count = "count", treatment = "treat"), byl,
        list_rows(sp$design, by))
    for (rn in names(rr_designs)) {
      rr <- rr_designs[[rn]]
      add(paste0(nm, " rr ", rn, tag), sp, "randomized_response", c(list(answer = rr$col), rr$args), byl,
          rr_rows(sp$design, rr, by))
    }
  }
}

out <- list(r_version = R.version.string, survey_version = as.character(packageVersion("survey")),
            note = "SYNTHETIC data generated by make_golden_sensitive.R", cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE, json_verbatim = TRUE),
           "tests/reference/golden/sensitive.json")
cat("wrote", length(cases), "cases\n")
