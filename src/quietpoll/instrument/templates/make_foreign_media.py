# ruff: noqa: E501  (questionnaire text: long label strings are data)
"""Build ``foreign-media.xlsx``: the standard "foreign information access" questionnaire (themes A-H).

Run ``python src/quietpoll/instrument/templates/make_foreign_media.py`` to regenerate the workbook
from the definition below (xlsxwriter, deterministic). Labels are in English and Korean
(``label::English``, ``label::Korean``). The form embeds no figures: it asks questions, it states
no facts about prevalence, penalties or populations.

Sensitive-question designs:

* List experiment (item count): the device draws ``le_draw = once(random())`` and sets
  ``le_treat`` (1 with probability 1/2). The control group sees 4 innocuous items, the treatment
  group the same 4 plus "watched a South Korean video"; each respondent reports only HOW MANY
  apply (``le_count``), never which.
* Randomized response (forced-response design): the device draws ``rr_spin = once(random())``;
  with probability 1/6 the respondent is told privately to answer "yes", 1/6 "no", and 2/3 to
  answer truthfully "Do you know someone punished for foreign media?". The interviewer does not see
  the instruction. P(yes) = 1/6 + (2/3) * pi, so pi = (P(yes) - 1/6) / (2/3).

Device-only fields (``bind::quietpoll:device-only`` = yes, see :mod:`quietpoll.instrument.form`): the
draws ``rr_spin`` and ``le_draw`` and the private instructions computed from ``rr_spin`` live only on the
device and are never sealed: with the draw, a "yes" given under "answer truthfully" would be decoded.
The list-experiment arm ``le_treat`` is sealed (the estimator needs the assignment; it reveals no
answer). The estimators need only the design's probabilities above. Once ``rr_answer`` is answered, the
browser form hides the private instruction for good (the device goes back to the interviewer).
"""

from __future__ import annotations

import sys
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "foreign-media.xlsx"

FORM_ID = "foreign_media"
VERSION = "2025.1"
TITLE_EN = "Access to foreign information and media"
TITLE_KO = "외부 정보 및 매체 접근 조사"

# Probabilities of the forced-response design (documented in the README and the docstring).
RR_FORCED_YES = "1 div 6"
RR_FORCED_NO = "2 div 6"

SURVEY_COLUMNS = [
    "type",
    "name",
    "label::English",
    "label::Korean",
    "hint::English",
    "hint::Korean",
    "required",
    "relevant",
    "constraint",
    "constraint_message::English",
    "constraint_message::Korean",
    "calculation",
    "appearance",
    "choice_filter",
    "bind::quietpoll:device-only",
]

#: The settings sheet's namespaces: declares the prefix of the bind::quietpoll:device-only column.
NAMESPACES = 'quietpoll="urn:quietpoll:xforms"'
DEVICE_ONLY = {"bind::quietpoll:device-only": "yes"}


def q(qtype, name, en="", ko="", **kw):
    row = {"type": qtype, "name": name, "label::English": en, "label::Korean": ko}
    for key, value in kw.items():
        key = {
            "hint_en": "hint::English",
            "hint_ko": "hint::Korean",
            "msg_en": "constraint_message::English",
            "msg_ko": "constraint_message::Korean",
        }.get(key, key)
        row[key] = value
    return row


def begin(kind, name, en, ko, **kw):
    return q(f"begin_{kind}", name, en, ko, **kw)


def end(kind):
    return {"type": f"end_{kind}"}


YES = {"required": "yes"}


SURVEY = [
    q("start", "start"),
    q("end", "end"),
    q("today", "today"),
    q(
        "note",
        "intro",
        "Read to the respondent: This survey asks about radio, television and video. Do not say your name. "
        "You may refuse any question. Your answers are not linked to you.",
        "응답자에게 읽어 주십시오: 이 조사는 라디오, 텔레비전, 영상물에 관한 것입니다. 이름을 말하지 마십시오. "
        "어떤 질문에도 답하지 않으셔도 됩니다. 응답은 귀하와 연결되지 않습니다.",
    ),
    q("select_one yes_no", "consent", "Do you agree to take part?", "조사에 참여하는 데 동의하십니까?", **YES),
    # ---- A. Profile
    begin("group", "profile", "A. About you", "A. 응답자 정보", relevant="${consent} = 'yes'"),
    q(
        "select_one status",
        "status",
        "Are you now living inside North Korea, or have you left?",
        "현재 북한 안에 살고 계십니까, 아니면 떠나셨습니까?",
        **YES,
    ),
    q(
        "integer",
        "year_left",
        "In what year did you leave North Korea?",
        "몇 년도에 북한을 떠나셨습니까?",
        relevant="${status} = 'left'",
        required="yes",
        constraint=". >= 1950 and . <= 2100",
        msg_en="Enter a four-digit year.",
        msg_ko="네 자리 연도를 입력하십시오.",
    ),
    q(
        "select_one province",
        "province",
        "In which province did you last live in North Korea?",
        "북한에서 마지막으로 살았던 도(직할시)는 어디입니까?",
        **YES,
    ),
    q("select_one sex", "sex", "Sex", "성별", **YES),
    q("select_one age_band", "age_band", "Age group", "연령대", **YES),
    q(
        "select_one settlement",
        "settlement",
        "Where did you (last) live: a city, a county town or a village?",
        "(마지막으로) 사신 곳은 시, 군 소재지(읍), 농촌 마을 중 어디입니까?",
        **YES,
    ),
    q("select_one occupation", "occupation", "Main occupation (last in North Korea)", "(북한에서의 마지막) 주된 직업"),
    q("select_one education", "education", "Highest education completed", "최종 학력"),
    q(
        "integer",
        "months_third",
        "How many months did you spend in a third country (for example China) before arriving?",
        "도착하기 전에 제3국(예: 중국)에서 몇 개월을 지내셨습니까?",
        relevant="${status} = 'left'",
        constraint=". >= 0 and . <= 600",
        msg_en="Enter 0 to 600 months.",
        msg_ko="0에서 600 사이의 개월 수를 입력하십시오.",
    ),
    q(
        "select_one trade",
        "trade",
        "Were you involved in market or cross-border trade?",
        "장사(시장 거래)나 국경 무역에 관여하셨습니까?",
    ),
    end("group"),
    # ---- B. Devices
    begin("group", "devices", "B. Devices", "B. 기기", relevant="${consent} = 'yes'"),
    q(
        "select_multiple device",
        "devices_owned",
        "Which of these did your household have? (select all)",
        "다음 중 가구에서 가지고 있던 것은 무엇입니까? (모두 선택)",
        constraint="not(selected(., 'none')) or count-selected(.) = 1",
        msg_en="'None' cannot be combined with other answers.",
        msg_ko="'없음'은 다른 응답과 함께 선택할 수 없습니다.",
    ),
    q(
        "select_one tuning",
        "tv_tuning",
        "Was your TV fixed to state channels, tunable, or modified?",
        "텔레비전은 국가 채널에 고정되어 있었습니까, 채널 조정이 가능했습니까, 아니면 개조되었습니까?",
        relevant="selected(${devices_owned}, 'tv')",
    ),
    q(
        "select_one tuning",
        "radio_tuning",
        "Was your radio fixed, tunable, or modified?",
        "라디오는 고정되어 있었습니까, 조정이 가능했습니까, 아니면 개조되었습니까?",
        relevant="selected(${devices_owned}, 'radio')",
    ),
    end("group"),
    # ---- C. Exposure
    begin("group", "exposure", "C. Exposure", "C. 접촉 경험", relevant="${consent} = 'yes'"),
    q(
        "select_one yes_no_refuse",
        "ever_watched",
        "Have you ever watched a foreign video (film, drama, show)?",
        "외국 영상물(영화, 드라마, 프로그램)을 본 적이 있습니까?",
        **YES,
    ),
    q(
        "select_one yes_no_refuse",
        "watched_12m",
        "In the last 12 months (before leaving, if you left), did you watch one?",
        "지난 12개월 동안(떠나셨다면 떠나기 전 12개월) 외국 영상물을 보셨습니까?",
        relevant="${ever_watched} = 'yes'",
    ),
    q(
        "select_one frequency",
        "watch_freq",
        "How often did you watch foreign video?",
        "외국 영상물을 얼마나 자주 보셨습니까?",
        relevant="${ever_watched} = 'yes'",
    ),
    q(
        "select_one frequency",
        "radio_freq",
        "How often did you listen to foreign radio?",
        "외국 라디오를 얼마나 자주 들으셨습니까?",
    ),
    q(
        "select_one yes_no_refuse",
        "direct_tv",
        "Did you ever receive a foreign TV signal directly?",
        "외국 텔레비전 방송을 직접 수신한 적이 있습니까?",
    ),
    q(
        "select_multiple device",
        "devices_used",
        "Which devices did you use to watch? (select all)",
        "시청할 때 어떤 기기를 사용하셨습니까? (모두 선택)",
        relevant="${ever_watched} = 'yes'",
        constraint="not(selected(., 'none')) or count-selected(.) = 1",
        msg_en="'None' cannot be combined with other answers.",
        msg_ko="'없음'은 다른 응답과 함께 선택할 수 없습니다.",
    ),
    end("group"),
    # ---- D. Content
    begin("group", "content", "D. Content", "D. 내용", relevant="${ever_watched} = 'yes'"),
    q(
        "select_multiple origin",
        "origins",
        "From which countries were the videos? (select all)",
        "어느 나라의 영상물이었습니까? (모두 선택)",
    ),
    q(
        "select_one origin",
        "origin_most",
        "Which origin did you watch most?",
        "어느 나라 것을 가장 많이 보셨습니까?",
        choice_filter="selected(${origins}, name)",
    ),
    q(
        "select_multiple genre",
        "genres",
        "Which kinds of programme? (select all)",
        "어떤 종류의 프로그램이었습니까? (모두 선택)",
    ),
    q(
        "select_one info_wanted",
        "info_wanted",
        "What information did you most want from outside?",
        "외부에서 가장 알고 싶었던 정보는 무엇이었습니까?",
    ),
    end("group"),
    # ---- E. Access and sharing
    begin("group", "access", "E. Access and sharing", "E. 입수와 공유", relevant="${ever_watched} = 'yes'"),
    q(
        "select_multiple source",
        "how_obtained",
        "How did you obtain them? (select all)",
        "어떻게 구하셨습니까? (모두 선택)",
    ),
    q("select_one watch_with", "watched_with", "With whom did you usually watch?", "주로 누구와 함께 보셨습니까?"),
    q(
        "select_multiple pass_to",
        "passed_on",
        "Did you pass videos on? To whom? (select all)",
        "영상물을 다른 사람에게 전달하셨습니까? 누구에게 전달하셨습니까? (모두 선택)",
        constraint="not(selected(., 'nobody')) or count-selected(.) = 1",
        msg_en="'Nobody' cannot be combined with other answers.",
        msg_ko="'아무에게도 안 함'은 다른 응답과 함께 선택할 수 없습니다.",
    ),
    q("select_one view_time", "view_time", "At what time did you usually watch?", "주로 언제 보셨습니까?"),
    end("group"),
    # ---- F. Risk and enforcement
    begin("group", "risk", "F. Risk and enforcement", "F. 위험과 단속", relevant="${consent} = 'yes'"),
    q(
        "select_one danger5",
        "danger",
        "How dangerous was it to watch foreign video?",
        "외국 영상물을 보는 것은 얼마나 위험했습니까?",
    ),
    q(
        "select_one change",
        "danger_change",
        "Compared with before 2012, did it become more or less dangerous?",
        "2012년 이전과 비교하면 더 위험해졌습니까, 덜 위험해졌습니까?",
    ),
    q(
        "select_one yes_no_refuse",
        "knew_penalties",
        "Did you know the penalties for watching foreign media?",
        "외국 매체 시청에 대한 처벌을 알고 계셨습니까?",
    ),
    q(
        "select_multiple penalty",
        "penalties_known",
        "Which penalties did you know of? (select all)",
        "어떤 처벌을 알고 계셨습니까? (모두 선택)",
        relevant="${knew_penalties} = 'yes'",
    ),
    q(
        "select_one yes_no_refuse",
        "knows_punished",
        "Do you know someone who was punished for foreign media?",
        "외국 매체 때문에 처벌받은 사람을 알고 계십니까?",
    ),
    q(
        "select_one yes_no_refuse",
        "witnessed",
        "Did you witness such a punishment?",
        "그러한 처벌을 직접 목격하셨습니까?",
    ),
    q(
        "select_one inspected",
        "home_inspected",
        "Was your home inspected for media (for example by Group 109)?",
        "집이 매체 단속(예: 109상무)으로 검열을 받은 적이 있습니까?",
    ),
    q(
        "select_one yes_no_refuse",
        "confiscated",
        "Was a device of yours confiscated?",
        "기기를 압수당한 적이 있습니까?",
        relevant="${home_inspected} = 'once' or ${home_inspected} = 'several'",
    ),
    q(
        "select_one yes_no_refuse",
        "bribe",
        "Did you pay a bribe to get out of trouble?",
        "문제를 피하려고 뇌물을 준 적이 있습니까?",
        relevant="${home_inspected} = 'once' or ${home_inspected} = 'several'",
    ),
    end("group"),
    # ---- G. Effects
    begin("group", "effects", "G. Effects", "G. 영향", relevant="${ever_watched} = 'yes'"),
    q(
        "select_one agree5",
        "curiosity_south",
        "Watching made me more curious about South Korea.",
        "시청 후 남한에 대한 호기심이 커졌다.",
    ),
    q(
        "select_one agree5",
        "view_regime",
        "Watching changed my view of the government.",
        "시청 후 정부에 대한 생각이 바뀌었다.",
    ),
    q(
        "select_one agree5",
        "decision_leave",
        "Foreign media influenced my decision to leave.",
        "외국 매체가 북한을 떠나기로 한 결정에 영향을 주었다.",
        relevant="${status} = 'left'",
    ),
    end("group"),
    # ---- H. Sensitive-question designs and quality
    begin("group", "list_exp", "H1. How many", "H1. 몇 개", relevant="${consent} = 'yes'"),
    q("calculate", "le_draw", calculation="once(random())", **DEVICE_ONLY),
    q("calculate", "le_treat", calculation="if(${le_draw} < 0.5, 1, 0)"),
    q(
        "note",
        "le_instr",
        "Read: I will read some statements. Do not tell me which ones are true. Tell me only HOW MANY are true for you.",
        "읽어 주십시오: 몇 가지 문장을 읽어 드리겠습니다. 어느 것이 맞는지는 말하지 마십시오. 귀하에게 맞는 것이 몇 개인지만 말씀해 주십시오.",
    ),
    q(
        "integer",
        "le_count_control",
        "(1) I ate rice this week. (2) I visited a market in the last month. (3) I have a relative in another province. "
        "(4) I rode a bicycle in the last month. How many of these are true for you?",
        "(1) 이번 주에 쌀밥을 먹었다. (2) 지난 한 달 동안 시장에 갔다. (3) 다른 도에 친척이 있다. "
        "(4) 지난 한 달 동안 자전거를 탔다. 이 중 몇 개가 귀하에게 해당됩니까?",
        relevant="${le_treat} = 0",
        required="yes",
        constraint=". >= 0 and . <= 4",
        msg_en="Enter a number from 0 to 4.",
        msg_ko="0에서 4 사이의 숫자를 입력하십시오.",
    ),
    q(
        "integer",
        "le_count_treat",
        "(1) I ate rice this week. (2) I visited a market in the last month. (3) I have a relative in another province. "
        "(4) I rode a bicycle in the last month. (5) I watched a South Korean video. How many of these are true for you?",
        "(1) 이번 주에 쌀밥을 먹었다. (2) 지난 한 달 동안 시장에 갔다. (3) 다른 도에 친척이 있다. "
        "(4) 지난 한 달 동안 자전거를 탔다. (5) 남한 영상물을 본 적이 있다. 이 중 몇 개가 귀하에게 해당됩니까?",
        relevant="${le_treat} = 1",
        required="yes",
        constraint=". >= 0 and . <= 5",
        msg_en="Enter a number from 0 to 5.",
        msg_ko="0에서 5 사이의 숫자를 입력하십시오.",
    ),
    q("calculate", "le_count", calculation="coalesce(${le_count_control}, ${le_count_treat})"),
    end("group"),
    begin("group", "rand_resp", "H2. Private instruction", "H2. 비공개 지시", relevant="${consent} = 'yes'"),
    q("calculate", "rr_spin", calculation="once(random())", **DEVICE_ONLY),
    q(
        "note",
        "rr_handover",
        "Interviewer: hand the device to the respondent, or read the next screen only to them, and do not look.",
        "조사원: 기기를 응답자에게 건네거나 다음 화면을 응답자에게만 읽어 주고, 화면을 보지 마십시오.",
    ),
    q(
        "note",
        "rr_say_yes",
        "Private instruction: whatever the truth, answer YES to the next question.",
        "비공개 지시: 사실과 관계없이 다음 질문에 '예'라고 답하십시오.",
        relevant=f"${{rr_spin}} < {RR_FORCED_YES}",
        **DEVICE_ONLY,
    ),
    q(
        "note",
        "rr_say_no",
        "Private instruction: whatever the truth, answer NO to the next question.",
        "비공개 지시: 사실과 관계없이 다음 질문에 '아니요'라고 답하십시오.",
        relevant=f"${{rr_spin}} >= {RR_FORCED_YES} and ${{rr_spin}} < {RR_FORCED_NO}",
        **DEVICE_ONLY,
    ),
    q(
        "note",
        "rr_say_truth",
        "Private instruction: answer the next question truthfully.",
        "비공개 지시: 다음 질문에 사실대로 답하십시오.",
        relevant=f"${{rr_spin}} >= {RR_FORCED_NO}",
        **DEVICE_ONLY,
    ),
    q(
        "select_one yes_no",
        "rr_answer",
        "Do you know someone who was punished for watching foreign media?",
        "외국 매체 시청 때문에 처벌받은 사람을 알고 계십니까?",
        required="yes",
    ),
    end("group"),
    begin("group", "quality", "H3. About this interview", "H3. 면접 정보"),
    q("select_one mode", "mode", "Interview mode", "면접 방식", required="yes"),
    q(
        "select_one yes_no",
        "paid",
        "Was the respondent paid for this interview?",
        "응답자에게 이 면접의 대가를 지급했습니까?",
        required="yes",
    ),
    end("group"),
]

CHOICES = [
    ("yes_no", "yes", "Yes", "예"),
    ("yes_no", "no", "No", "아니요"),
    ("yes_no_refuse", "yes", "Yes", "예"),
    ("yes_no_refuse", "no", "No", "아니요"),
    ("yes_no_refuse", "refuse", "Refuse to answer", "응답 거부"),
    ("status", "inside", "Still inside North Korea", "현재 북한 거주"),
    ("status", "left", "Left North Korea", "북한을 떠남"),
    ("province", "pyongyang", "Pyongyang", "평양시"),
    ("province", "south_pyongan", "South Pyongan", "평안남도"),
    ("province", "north_pyongan", "North Pyongan", "평안북도"),
    ("province", "chagang", "Chagang", "자강도"),
    ("province", "south_hwanghae", "South Hwanghae", "황해남도"),
    ("province", "north_hwanghae", "North Hwanghae", "황해북도"),
    ("province", "kangwon", "Kangwon", "강원도"),
    ("province", "south_hamgyong", "South Hamgyong", "함경남도"),
    ("province", "north_hamgyong", "North Hamgyong", "함경북도"),
    ("province", "ryanggang", "Ryanggang", "량강도"),
    ("sex", "male", "Male", "남성"),
    ("sex", "female", "Female", "여성"),
    ("age_band", "a0_9", "0-9", "0-9세"),
    ("age_band", "a10_19", "10-19", "10-19세"),
    ("age_band", "a20_29", "20-29", "20-29세"),
    ("age_band", "a30_39", "30-39", "30-39세"),
    ("age_band", "a40_49", "40-49", "40-49세"),
    ("age_band", "a50_59", "50-59", "50-59세"),
    ("age_band", "a60_plus", "60 or older", "60세 이상"),
    ("settlement", "city", "City", "시"),
    ("settlement", "county_town", "County town", "군 소재지(읍)"),
    ("settlement", "village", "Village", "농촌 마을"),
    ("occupation", "worker", "Factory or enterprise worker", "공장·기업소 노동자"),
    ("occupation", "farmer", "Farm worker", "농장원"),
    ("occupation", "trader", "Trader / market", "장사(시장)"),
    ("occupation", "office", "Office worker / official", "사무원·간부"),
    ("occupation", "military", "Military", "군인"),
    ("occupation", "student", "Student", "학생"),
    ("occupation", "homemaker", "Homemaker / dependent", "가정주부·부양가족"),
    ("occupation", "none", "No work", "무직"),
    ("occupation", "other", "Other", "기타"),
    ("education", "none_primary", "None or primary", "무학 또는 소학교"),
    ("education", "secondary", "Secondary (middle/high school)", "중학교(고급중학교)"),
    ("education", "college", "Professional school / college", "전문학교"),
    ("education", "university", "University or higher", "대학 이상"),
    ("trade", "none", "No", "아니요"),
    ("trade", "market", "Market trade", "시장 장사"),
    ("trade", "cross_border", "Cross-border trade", "국경 무역"),
    ("trade", "both", "Both", "둘 다"),
    ("device", "tv", "TV", "텔레비전"),
    ("device", "radio", "Radio", "라디오"),
    ("device", "dvd", "DVD/EVD player", "DVD/EVD 재생기"),
    ("device", "notel", "Notel (portable media player)", "노트텔"),
    ("device", "usb", "USB drive", "USB"),
    ("device", "sd", "SD / microSD card", "SD·마이크로SD 카드"),
    ("device", "nk_phone", "North Korean mobile phone", "북한 손전화"),
    ("device", "cn_phone", "Chinese mobile phone", "중국 손전화"),
    ("device", "pc", "Laptop / PC", "노트북·컴퓨터"),
    ("device", "tablet", "Tablet", "태블릿"),
    ("device", "none", "None of these", "없음"),
    ("tuning", "fixed", "Fixed to state channels", "국가 채널 고정"),
    ("tuning", "tunable", "Tunable", "조정 가능"),
    ("tuning", "modified", "Modified", "개조됨"),
    ("tuning", "dont_know", "Don't know", "모름"),
    ("frequency", "daily", "Almost daily", "거의 매일"),
    ("frequency", "weekly", "At least weekly", "주 1회 이상"),
    ("frequency", "monthly", "At least monthly", "월 1회 이상"),
    ("frequency", "bimonthly", "Every 2-3 months", "2-3개월에 한 번"),
    ("frequency", "yearly", "Once a year or less", "1년에 한 번 이하"),
    ("frequency", "once", "Only once", "단 한 번"),
    ("frequency", "never", "Never", "전혀 없음"),
    ("frequency", "refuse", "Refuse to answer", "응답 거부"),
    ("origin", "south_korea", "South Korea", "남한"),
    ("origin", "china", "China", "중국"),
    ("origin", "us_west", "USA / Western", "미국·서방"),
    ("origin", "japan", "Japan", "일본"),
    ("origin", "russia", "Russia", "러시아"),
    ("origin", "other", "Other", "기타"),
    ("genre", "drama", "Drama", "드라마"),
    ("genre", "film", "Film", "영화"),
    ("genre", "music", "Music / performance", "음악·공연"),
    ("genre", "documentary", "Documentary", "다큐멘터리"),
    ("genre", "news", "News", "뉴스"),
    ("genre", "education", "Education", "교육"),
    ("info_wanted", "daily_life", "Daily life abroad", "외국의 일상생활"),
    ("info_wanted", "news_world", "World news", "세계 소식"),
    ("info_wanted", "news_nk", "News about North Korea", "북한에 관한 소식"),
    ("info_wanted", "economy", "Economy and prices", "경제와 물가"),
    ("info_wanted", "entertainment", "Entertainment", "오락"),
    ("info_wanted", "other", "Other", "기타"),
    ("source", "family", "Family", "가족"),
    ("source", "friends", "Friends", "친구"),
    ("source", "market", "Market", "시장"),
    ("source", "traders", "Traders", "장사꾼"),
    ("source", "copied", "Copied from someone", "다른 사람에게서 복사"),
    ("source", "other", "Other", "기타"),
    ("watch_with", "alone", "Alone", "혼자"),
    ("watch_with", "family", "Family", "가족"),
    ("watch_with", "friends", "Friends", "친구"),
    ("watch_with", "other", "Others", "기타"),
    ("pass_to", "family", "Family", "가족"),
    ("pass_to", "friends", "Friends", "친구"),
    ("pass_to", "sold", "Sold or traded", "판매·교환"),
    ("pass_to", "nobody", "Nobody", "아무에게도 안 함"),
    ("view_time", "day", "Daytime", "낮"),
    ("view_time", "evening", "Evening", "저녁"),
    ("view_time", "late_night", "Late at night", "늦은 밤"),
    ("view_time", "varied", "It varied", "일정하지 않음"),
    ("danger5", "1", "Not dangerous", "위험하지 않음"),
    ("danger5", "2", "Slightly dangerous", "약간 위험"),
    ("danger5", "3", "Moderately dangerous", "보통"),
    ("danger5", "4", "Very dangerous", "매우 위험"),
    ("danger5", "5", "Extremely dangerous", "극도로 위험"),
    ("change", "more", "More dangerous", "더 위험해짐"),
    ("change", "same", "About the same", "비슷함"),
    ("change", "less", "Less dangerous", "덜 위험해짐"),
    ("change", "dont_know", "Don't know", "모름"),
    ("penalty", "bribe_fine", "Bribe or fine", "뇌물·벌금"),
    ("penalty", "labour_training", "Labour-training camp", "노동단련대"),
    ("penalty", "reeducation", "Re-education camp", "교화소"),
    ("penalty", "political_prison", "Political prison camp", "정치범수용소"),
    ("penalty", "banishment", "Banishment", "추방"),
    ("penalty", "execution", "Execution", "처형"),
    ("inspected", "never", "Never", "없음"),
    ("inspected", "once", "Once", "한 번"),
    ("inspected", "several", "Several times", "여러 번"),
    ("inspected", "refuse", "Refuse to answer", "응답 거부"),
    ("agree5", "1", "Strongly disagree", "전혀 그렇지 않다"),
    ("agree5", "2", "Disagree", "그렇지 않다"),
    ("agree5", "3", "Neither", "보통이다"),
    ("agree5", "4", "Agree", "그렇다"),
    ("agree5", "5", "Strongly agree", "매우 그렇다"),
    ("mode", "face_to_face", "Face to face", "대면"),
    ("mode", "phone", "Phone", "전화"),
    ("mode", "intermediary", "Through an intermediary", "중개인을 통해"),
]

ABOUT = [
    "foreign_media: standard questionnaire on access to foreign information (themes A-H).",
    "Generated by make_foreign_media.py; edit the Python definition, not this workbook.",
    "This form embeds no figures: it contains questions only, no statistics or facts.",
    "No names or identifiers are asked. Collect with encryption (see README-field-team.md).",
    "List experiment: le_treat is drawn on the device (once(random())); le_count is the answer.",
    "Device-only (never sealed, column bind::quietpoll:device-only): le_draw, rr_spin and the private instructions.",
    "Randomized response (forced response): P(forced yes) = 1/6, P(forced no) = 1/6, truth = 2/3.",
]


def build(path: Path = OUTPUT) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    # deterministic file: fixed document properties and creation time
    import datetime as dt

    wb.set_properties({"title": TITLE_EN, "created": dt.datetime(2025, 1, 1)})
    bold = wb.add_format({"bold": True})

    ws = wb.add_worksheet("survey")
    for j, col in enumerate(SURVEY_COLUMNS):
        ws.write_string(0, j, col, bold)
    for i, row in enumerate(SURVEY, start=1):
        unknown = set(row) - set(SURVEY_COLUMNS)
        if unknown:
            raise ValueError(f"unknown survey columns {sorted(unknown)} in row {row.get('name')}")
        for j, col in enumerate(SURVEY_COLUMNS):
            value = row.get(col, "")
            if value:
                ws.write_string(i, j, str(value))

    wc = wb.add_worksheet("choices")
    for j, col in enumerate(["list_name", "name", "label::English", "label::Korean"]):
        wc.write_string(0, j, col, bold)
    for i, choice in enumerate(CHOICES, start=1):
        for j, value in enumerate(choice):
            wc.write_string(i, j, value)

    wset = wb.add_worksheet("settings")
    settings = [
        ("form_title", TITLE_EN),
        ("form_id", FORM_ID),
        ("version", VERSION),
        ("default_language", "English"),
        ("namespaces", NAMESPACES),
    ]
    for j, (key, value) in enumerate(settings):
        wset.write_string(0, j, key, bold)
        wset.write_string(1, j, value)

    wa = wb.add_worksheet("about")
    for i, line in enumerate(ABOUT):
        wa.write_string(i, 0, line)
    wb.close()
    return path


if __name__ == "__main__":
    out = build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT)
    print(out)
