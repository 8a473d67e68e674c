# Weighting benchmark, R survey side (called by benchmarks/bench_weighting.py).
#
#   Rscript benchmarks/weighting_bench.R DATA.csv TARGETS.json OUTDIR [MAXIT] [EPSILON]
#
# Reads the synthetic sample (data.table::fread, not timed), then times, once each:
#   design  svydesign(ids=~1, weights=~w, data=d)
#   rake    rake(des, list(~region, ~age, ~edu, ~urban), list(pop tables), control=list(maxit, epsilon))
#   linear  calibrate(des, ~region+age+edu+urban, population=..., calfun="linear")
#   linear_income  the same + income total
# For each: elapsed seconds (proc.time) and gc() "max used" (MB, after gc(reset=TRUE) before the call).
# Writes OUTDIR/weighting_r.json and the weights of each result as little-endian float64
# (OUTDIR/weights_r_<op>.bin) for the agreement check.
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
  library(data.table)
})
args <- commandArgs(trailingOnly = TRUE)
csv <- args[1]; tgt_file <- args[2]; outdir <- args[3]
maxit <- if (length(args) >= 4) as.integer(args[4]) else 100L
epsilon <- if (length(args) >= 5) as.numeric(args[5]) else 1

tg <- fromJSON(tgt_file, simplifyVector = FALSE)
vars <- names(tg$margins)
d <- as.data.frame(fread(csv, colClasses = list(character = vars)))
for (v in vars) d[[v]] <- factor(d[[v]], levels = names(tg$margins[[v]]))   # level order as in the targets
data_mb <- as.numeric(object.size(d)) / 2^20

gcmax <- function() sum(gc()[, 6])   # "max used" column, MB (Ncells + Vcells)
timed <- function(expr) {
  invisible(gc(reset = TRUE))
  t <- proc.time()[["elapsed"]]
  val <- force(expr)
  el <- proc.time()[["elapsed"]] - t
  list(value = val, seconds = el, gc_max_mb = gcmax())
}
res <- list(versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                            survey = as.character(packageVersion("survey")),
                            data.table = as.character(packageVersion("data.table"))),
            data_mb = data_mb, rows = nrow(d), maxit = maxit, epsilon = epsilon, ops = list())
save_w <- function(des, op) {
  con <- file(file.path(outdir, paste0("weights_r_", op, ".bin")), "wb")
  writeBin(as.double(weights(des)), con, size = 8, endian = "little")
  close(con)
}

r <- timed(svydesign(ids = ~1, weights = ~w, data = d))
des <- r$value
res$ops$design <- list(seconds = r$seconds, gc_max_mb = r$gc_max_mb)
cat(sprintf("design %.3f s (gc max %.0f MB)\n", r$seconds, r$gc_max_mb))

pop_tables <- lapply(vars, function(v) {
  t <- data.frame(factor(names(tg$margins[[v]]), levels = names(tg$margins[[v]])),
                  Freq = as.numeric(unlist(tg$margins[[v]])))
  names(t)[1] <- v
  t
})
margins <- lapply(vars, function(v) as.formula(paste0("~", v)))
warn <- NULL
r <- withCallingHandlers(
  timed(rake(des, margins, pop_tables, control = list(maxit = maxit, epsilon = epsilon, verbose = FALSE))),
  warning = function(w) { warn <<- conditionMessage(w); invokeRestart("muffleWarning") })
save_w(r$value, "rake")
res$ops$rake <- list(seconds = r$seconds, gc_max_mb = r$gc_max_mb, warning = warn)
cat(sprintf("rake %.3f s (gc max %.0f MB)%s\n", r$seconds, r$gc_max_mb, if (is.null(warn)) "" else paste(" WARNING:", warn)))
rm(r); invisible(gc())

pop_vec <- function(with_income) {
  p <- c(`(Intercept)` = tg$N)
  for (v in vars) {
    lv <- names(tg$margins[[v]])
    x <- as.numeric(unlist(tg$margins[[v]]))[-1]
    names(x) <- paste0(v, lv[-1])
    p <- c(p, x)
  }
  if (with_income) p <- c(p, income = tg$income_total)
  p
}
for (op in c("linear", "linear_income")) {
  inc <- op == "linear_income"
  f <- as.formula(paste("~", paste(c(vars, if (inc) "income"), collapse = "+")))
  pop <- pop_vec(inc)
  r <- timed(calibrate(des, f, population = pop, calfun = "linear"))
  save_w(r$value, op)
  res$ops[[op]] <- list(seconds = r$seconds, gc_max_mb = r$gc_max_mb)
  cat(sprintf("%s %.3f s (gc max %.0f MB)\n", op, r$seconds, r$gc_max_mb))
  rm(r); invisible(gc())
}
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, null = "null"), file.path(outdir, "weighting_r.json"))
