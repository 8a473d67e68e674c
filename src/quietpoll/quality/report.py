"""All fabrication and quality checks for one data set and its questionnaire, as one
:class:`~quietpoll.quality.results.QualityReport` (its ``to_dict()`` is what `quietpoll quality` prints)."""

from __future__ import annotations

import polars as pl

from .duplicates import encode_answers, near_duplicates, null_threshold
from .interviewers import durations, interviewer_effects, item_nonresponse, straightlining
from .validation import asked_mask
from .results import NearDuplicate, QualityReport, jsonable

NOT_ANSWERS = {
    "note",
    "calculate",
    "start",
    "end",
    "today",
    "deviceid",
    "username",
    "subscriberid",
    "simserial",
    "phonenumber",
    "audit",
    "begin_group",
    "end_group",
    "begin_repeat",
    "end_repeat",
}
#: interviewer columns used by default, first found; "_interviewer" is the pseudonym `quietpoll pull` writes
INTERVIEWER_COLUMNS = (
    "_interviewer",
    "interviewer",
    "intermediary",
    "enumerator",
    "_submitted_by",
    "username",
    "deviceid",
)
K_R_THRESHOLD = 0.85  # Kuriakose & Robbins' fixed cut-off: never flag below it


def quality_report(
    frame: pl.DataFrame, instrument, *, interviewer: str | None = None, threshold: float | None = None, seed: int = 0
) -> QualityReport:
    questions = [
        q.name
        for q in instrument.data_questions()
        if q.type not in NOT_ANSWERS and q.repeat is None and q.name in frame.columns
    ]
    if interviewer is None:
        interviewer = next((c for c in INTERVIEWER_COLUMNS if c in frame.columns), None)
    # a pair must share at least 10 answered questions to count (half the questions when there are fewer)
    min_compared = max(1, min(10, len(questions) // 2))
    codes = encode_answers(frame, questions)  # once, for the simulation and the scan
    if threshold is None:
        # 200 simulated data sets for up to 2,000 interviews, fewer (at least 20) above: each simulation
        # is a full percent-match scan of n interviews
        sims = 200 if frame.height <= 2000 else max(20, int(200 * 2000 / frame.height))
        simulated = null_threshold(
            frame, questions, seed=seed, min_compared=min_compared, simulations=sims, codes=codes, floor=K_R_THRESHOLD
        )
        threshold = max(simulated, K_R_THRESHOLD)
        rule = (
            f"99th percentile of the maximum match among simulated independent interviews ({simulated:.3f}), "
            f"at least {K_R_THRESHOLD}"
        )
    else:
        rule = "given"
    pairs = near_duplicates(
        frame,
        questions,
        interviewer=interviewer,
        threshold=threshold,
        seed=seed,
        min_compared=min_compared,
        codes=codes,
    )
    start = next((q.name for q in instrument.questions if q.type == "start" and q.name in frame.columns), None)
    end = next((q.name for q in instrument.questions if q.type == "end" and q.name in frame.columns), None)
    found_durations = None
    if start and end:
        answered = frame.select(pl.sum_horizontal([pl.col(q).is_not_null() for q in questions])).to_series()
        found_durations = jsonable(durations(frame, start, end, answered.to_numpy()))
    grids = _grids(instrument, frame)
    effects = None
    if interviewer:
        closed = [
            q.name
            for q in instrument.data_questions()
            if q.type in ("select_one", "integer", "decimal") and q.name in questions
        ]
        effects = jsonable(interviewer_effects(frame, closed, interviewer))
    return QualityReport(
        n_rows=frame.height,
        questions=tuple(questions),
        interviewer=interviewer,
        threshold=jsonable(threshold),
        threshold_rule=rule,
        near_duplicates=tuple(NearDuplicate.from_dict(jsonable(d)) for d in pairs),
        durations=found_durations,
        straightlining=jsonable(straightlining(frame, grids) if grids else []),
        # a question skipped by design was not asked: never counted as missing
        item_nonresponse=jsonable(
            item_nonresponse(frame, questions, interviewer, asked=asked_mask(frame, instrument, questions))
        ),
        interviewer_effects=effects,
    )


def _grids(instrument, frame) -> dict[str, list[str]]:
    """Runs of three or more select_one questions in one group sharing a choice list (a grid)."""
    grids: dict[str, list[str]] = {}
    run: list = []

    def close():
        if len(run) >= 3:
            grids[f"{run[0].group[-1] if run[0].group else 'grid'}:{run[0].list_name}"] = [q.name for q in run]

    for q in instrument.questions:
        if (
            q.type == "select_one"
            and q.name in frame.columns
            and run
            and q.list_name == run[-1].list_name
            and q.group == run[-1].group
        ):
            run.append(q)
            continue
        close()
        run = [q] if q.type == "select_one" and q.name in frame.columns else []
    close()
    return grids
