"""Rule signals: every family in zh and en, negation, idioms, tense, floors."""

from __future__ import annotations

import pytest

from triage.signals import detect, is_suppressed_only, rule_floor, rule_needs


def _kinds(text: str, status: str = "active") -> set[str]:
    return {s.kind for s in detect(text) if s.status == status}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("我真的不想活了", "intent"),
        ("想去天台吹吹风", "intent"),
        ("最近老想紫砂", "intent"),
        ("I want to die", "intent"),
        ("thinking about how to unalive myself", "intent"),
        ("kms honestly", "intent"),
        ("又想割腕了", "self_harm"),
        ("I keep wanting to cut myself", "self_harm"),
        ("我已经想好了", "plan"),
        ("安眠药攒了一瓶", "plan"),
        ("I have a plan", "plan"),
        ("抽屉里有安眠药", "means"),
        ("there is a rope in the garage", "means"),
        ("今晚", "time"),
        ("tonight", "time"),
        ("这是我最后一条消息", "farewell"),
        ("by the time you read this", "farewell"),
        ("我已经吃了一整瓶药", "act"),
        ("I already took all of them", "act"),
        ("我现在站在楼顶边上", "act"),
        ("我要杀了他", "violence"),
        ("he has a knife to my throat", "violence"),
        ("我爸叫不醒了", "medical_emergency"),
        ("she is not breathing", "medical_emergency"),
        ("我邻居说她撑不下去了", "third_party"),
        ("my neighbour says she wants to die", "third_party"),
        ("惊恐发作，喘不上气", "panic"),
        ("panic attack, I can't breathe", "panic"),
        ("他又打我了", "abuse"),
        ("my husband hits me", "abuse"),
        ("舍曲林吃完了", "medication_stopped"),
        ("ran out of my meds", "medication_stopped"),
        ("我有双相情感障碍", "psychiatric"),
        ("活着没意思", "hopelessness"),
        ("everything feels hopeless", "hopelessness"),
    ],
)
def test_rule_family_fires(text: str, kind: str) -> None:
    assert kind in _kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "我不会做傻事的",
        "我不是想死，只是太累了",
        "我没有想过自杀",
        "没想不开，就是睡不着",
        "I'm not going to kill myself",
        "I don't want to die",
        "don't worry, I won't hurt myself",
        "I would never end my life",
    ],
)
def test_negated_wishes_are_suppressed(text: str) -> None:
    signals = detect(text)
    assert {"intent", "self_harm"} & {s.kind for s in signals if s.status == "negated"}
    assert rule_floor(signals)[0] is None
    assert is_suppressed_only(signals)


@pytest.mark.parametrize(
    "text",
    [
        "我真的不知道，想死",  # a comma starts a new clause
        "I'm not sure why I want to die",  # a new subject after the negator
        "我不会好了我想死",
    ],
)
def test_negation_does_not_reach_across_clauses(text: str) -> None:
    assert "intent" in _kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "笑死我了",
        "累死了",
        "饿死了",
        "烦死了",
        "吓死我了",
        "想死你了！",
        "跳楼价大甩卖",
        "I'm dying to see you",
        "just killing time",
        "this cake is to die for",
        "bored to death",
        "the heat is killing me",
        "overdosed on Netflix lol, finished three series this week",
        "笑不活了，猫从沙发上摔下来",
        "跟同事在视频会上告别了，下周一去新公司",
        "买了根绳子在阳台晾衣服",
        # Suicide as a topic, not a disclosure.
        "I'm a teacher, how do I talk to students about suicide safely?",
        "Do you have a leaflet on suicide prevention?",
        "我是老师，怎么跟学生聊自杀这个话题？",
    ],
)
def test_idioms_are_not_risk(text: str) -> None:
    signals = detect(text)
    assert "idiom" in {s.kind for s in signals}
    assert not {"intent", "self_harm", "violence"} & _kinds(text)
    assert rule_floor(signals)[0] is None


@pytest.mark.parametrize(
    "text",
    [
        "我以前想过自杀，现在好多了",
        "I used to think about ending it, I'm better now",
        "前幾年真的有想過不要活了",
    ],
)
def test_past_tense_is_dampened(text: str) -> None:
    signals = detect(text)
    assert "past" in {s.status for s in signals if s.kind == "intent"}
    assert rule_floor(signals)[0] is None


@pytest.mark.parametrize(
    "text",
    [
        "I had a panic attack last month and your volunteer helped me breathe",
        "三月份在方舱惊恐发作过一次，现在好多了",
        "上个月那次 panic attack 之后我开始每天跑步",
    ],
)
def test_a_past_panic_attack_sets_no_floor(text: str) -> None:
    signals = detect(text)
    assert {s.status for s in signals if s.kind == "panic"} == {"past"}
    assert rule_floor(signals)[0] is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("去年开始就一直想死", "intent"),  # it went on: not past
        ("上个月开始我就想自杀", "intent"),
        ("My husband threatened me with a knife last week.", "abuse"),  # too recent
        ("Last week she told me she'd saved up pills.", "plan"),
    ],
)
def test_past_markers_do_not_dampen_what_still_stands(text: str, kind: str) -> None:
    assert kind in _kinds(text)


@pytest.mark.parametrize("text", ["剧里女主跳楼那集太虐了", "朋友以为我要自杀"])
def test_reported_risk_is_dampened(text: str) -> None:
    signals = detect(text)
    assert "reported" in {s.status for s in signals if s.kind == "intent"}
    assert rule_floor(signals)[0] is None


@pytest.mark.parametrize(
    ("text", "floor"),
    [
        ("我不想活了，药已经准备好了，今晚就吃", "crisis"),  # wish + plan + time
        ("I have a plan and the rope is in my bag", "crisis"),  # plan + means
        ("I'm going to overdose on my pills tonight", "crisis"),
        ("决定彻底躺平了，买的炭今天下午到", "crisis"),  # plan + means
        ("安眠药吃多少会死？只是问问", "crisis"),  # a lethal-dose question
        ("买了烧烤炭，周末阳台烤肉", None),
        ("绳子是在网上买的，昨天到的，今天就用", "crisis"),  # plan + means
        ("绳子买好了，明天去晾被子", None),  # laundry
        ("买了一捆绳子，邻居以为我要晾衣服，其实不是，今晚用", "crisis"),
        ("我已经好几天不吃不喝了，就想这么慢慢饿死", "high"),  # a wish, not 饿死了
        ("I drank a bottle of bleach.", "crisis"),  # act under way
        ("Asthma attack, inhaler empty, can barely speak", "crisis"),
        ("哮喘的喷雾快用完了，哪个药店能送", None),  # a medicine need
        ("我已经吃了一整瓶安眠药", "crisis"),  # act under way
        ("永别了，照顾好我妈", "crisis"),  # farewell
        ("我爸没有呼吸了", "crisis"),  # medical emergency
        ("我想死", "high"),  # wish alone
        ("每天都想去天台", "high"),  # recurring ideation, no plan
        ("他又打我了", "high"),  # abuse
        ("惊恐发作了", "high"),  # panic attack
        ("我有双相，药断了一周", "high"),  # psychiatric medication stopped
        ("my neighbour says she wants to die", "high"),  # third party
        ("我很绝望", "moderate"),  # hopelessness
        ("I feel so hopeless", "moderate"),
        ("我不绝望，就是有点累", None),  # negated
        ("今天好累，睡不着", None),
        ("团购的菜什么时候到？", None),
    ],
)
def test_rule_floor(text: str, floor: str | None) -> None:
    level, reasons = rule_floor(detect(text))
    assert level == floor
    assert bool(reasons) == (floor is not None)


def test_wish_containing_a_place_is_one_piece_of_evidence() -> None:
    # "想去天台" names the rooftop, but that is not separate "means".
    assert rule_floor(detect("想去天台"))[0] == "high"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("我覺得好絕望，不想活了", "不想活"),
        ("Ｉ ＷＡＮＴ ＴＯ ＤＩＥ", "ＷＡＮＴ ＴＯ ＤＩＥ"),
        ("zero\u200bwidth 想\u200b死", "想\u200b死"),
        ("lockdown第30天 I want to die", "want to die"),
    ],
)
def test_spans_point_into_the_original_text(text: str, needle: str) -> None:
    signal = next(s for s in detect(text) if s.kind == "intent")
    assert text[signal.start : signal.end] == signal.text == needle


@pytest.mark.parametrize(
    ("text", "needs"),
    [
        ("家里没吃的了，团购也抢不到", {"supplies"}),
        ("降压药快吃完了，哪里能配药", {"medicine"}),
        ("我老婆怀孕八个月，要产检", {"medical"}),
        ("老人一个人住，腿脚不便", {"care"}),
        ("need insulin and groceries", {"medicine", "supplies"}),
        ("家里不缺吃的", set()),
    ],
)
def test_rule_needs(text: str, needs: set[str]) -> None:
    assert rule_needs(detect(text)) == needs


def test_signal_serialises_with_all_fields() -> None:
    signal = detect("I want to die")[0]
    assert set(signal.to_dict()) == {
        "name",
        "kind",
        "lang",
        "start",
        "end",
        "text",
        "status",
    }
