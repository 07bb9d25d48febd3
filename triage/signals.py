"""Rule signals: zh/en lexicons with negation, idiom and past-tense handling."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from triage.normalize import Normalized, normalize_with_offsets

# Lexicon entries are regular expressions over *normalised* text (NFKC, lower
# case, Simplified Chinese), written by the Hotline team from general knowledge
# of how people talk about distress; no entry is taken from any dataset.
# Entries that start or end with a Latin letter get word boundaries.
_PSYCH_DRUGS = (
    "舍曲林|帕罗西汀|氟西汀|艾司西酞普兰|西酞普兰|文拉法辛|度洛西汀|米氮平|奥氮平|喹硫平|"
    "利培酮|阿立哌唑|氯氮平|碳酸锂|丙戊酸|拉莫三嗪|氯硝西泮|阿普唑仑|劳拉西泮|抗抑郁药|精神科的药"
)
# A named psychiatric drug that has run out ("舍曲林吃完了") is a stop too.
_PSYCH_DRUGS_RUN_OUT = (
    rf"(?:{_PSYCH_DRUGS})[^，,。.!！?？]{{0,4}}(?:吃完|没了|断了|停了|停掉|快断|快没)"
)
_PEOPLE_ZH = (
    "邻居|朋友|同学|室友|舍友|同事|妈妈?|爸爸?|老公|老婆|丈夫|妻子|儿子|女儿|孩子|父亲|母亲|"
    "爷爷|奶奶|外婆|外公|姥姥|姥爷|姐姐?|哥哥?|弟弟?|妹妹?|男朋友|女朋友|对象|家人|舅舅|阿姨|"
    "老伴|婆婆|公公|岳母|岳父|学生|病人|闺蜜"
)
_PEOPLE_EN = (
    "neighbou?r|friend|mom|mum|mother|dad|father|husband|wife|partner|son|daughter|kid|"
    "child|brother|sister|roommate|flatmate|colleague|coworker|grandma|grandpa|"
    "grandmother|grandfather|boyfriend|girlfriend|uncle|aunt|student|patient|cousin"
)

LEXICON: dict[str, dict[str, tuple[str, ...]]] = {
    # Suicidal intent or wish, explicit or in common euphemism and slang.
    "intent": {
        "suicide": (
            r"自杀",
            r"自尽",
            r"轻生",
            r"寻死",
            r"寻短见",
            r"紫砂",
            r"自鲨",
            r"自我了断",
            r"了结自己",
            r"结束自己",
            r"结束(?:我的)?生命",
            r"结束这一切",
            r"了结这一切",
            r"安乐死",
            r"suicide",
            r"suicidal",
            r"sewerslide",
            r"unalive",
            r"kms",
            r"kill(?:ing)? (?:myself|herself|himself|themselves)",
            r"take (?:my|her|his|their) (?:own )?life",
            r"taking (?:my|her|his) (?:own )?life",
            r"end(?:ing)? (?:my life|it all|my own life|things)",
            r"end(?:ing)? it(?! with)",
        ),
        "starve": (
            r"想(?:这么|就这样|这样)?(?:慢慢)?饿死(?:自己|算了)?",
            r"我(?:已经)?(?:好几天|几天|两天|三天)(?:都)?不吃不喝",
        ),
        "want_to_die": (
            # A lethal-dose question is a wish, whatever "只是问问" says after it.
            r"吃多少(?:片|颗|粒)?(?:会|能|就能|才会)死",
            r"how many (?:pills|tablets|of them) (?:would|will|does it take to) "
            r"(?:kill|die)",
            r"想死",
            r"好想死",
            r"想鼠",
            r"求死",
            r"想去死",
            r"我去死",
            r"去死算了",
            r"去死好了",
            r"死了算了",
            r"死了就好了",
            r"死了就解脱",
            r"死了(?:你们|大家)(?:就)?(?:好过|轻松)",
            r"(?:如果|要是)我死了",
            r"一死了之",
            r"(?:已经|都)?(?:决定|想好|打算)(?:好)?了?[^，,。.!！?？]{0,4}(?:不活|去死|结束自己|走了之)",
            r"不打算(?:再)?(?:活|撑)(?:下去)?了",
            r"(?:i'?ve|i have) (?:decided|made up my mind) to (?:die|end it|do it|go)",
            r"一了百了",
            r"不想活",
            r"不(?:想)?要活",
            r"不想再活",
            r"不活了",
            r"活不下去",
            r"不如死了",
            r"还不如死",
            r"早点死",
            r"死掉算了",
            r"想消失",
            r"原地消失",
            r"把自己(?:擦掉|抹掉)",
            r"离开这个世界",
            r"离开人世",
            r"去另一个世界",
            r"从这个世界(?:上)?消失",
            r"不想(?:再)?醒来?",
            r"一睡不醒",
            r"永远睡过去",
            r"睡过去就不用醒",
            r"做傻事",
            r"想不开",
            r"没必要活",
            r"不配活",
            r"不想留了",
            r"(?:去|想去)(?:陪|找)(?:他们|老伴|我爸|我妈)",
            r"下辈子不来",
            r"松手算了",
            r"就差松手",
            r"今晚(?:就)?走",
            r"今晚就去",
            r"(?:今晚|现在|今天)就结束",
            r"就结束吧",
            r"下线了?，?永久",
            r"永久的那种",
            r"不会回来了",
            r"我要下去了",
            r"必[需须]这么做",
            r"这次是真的",
            r"跟(?:我们|你们|孩子)一起死",
            r"往[^，,。.]{0,6}(?:底下|下面)撞",
            r"淹死自己",
            r"一走了之",
            r"无痛消失",
            r"消失是最好",
            r"变成空气",
            r"一直睡下去",
            r"明天不在了",
            r"(?:如果|要是)我不在了",
            r"wan(?:t|ts|na) to die(?! of| laughing)",
            r"wanna die(?! of| laughing)",
            r"wish i (?:was|were) dead",
            r"wish i could die",
            r"better off dead",
            r"better off without me",
            r"would be (?:relieved|better off) if i (?:was|were) gone",
            r"don'?t want to (?:live|be alive|exist|be here|wake up)",
            r"do not want to (?:live|be alive|exist|be here)",
            r"no reason to live",
            r"not worth living",
            r"never (?:want to )?wake up",
            r"imagine not waking up",
            r"sleep forever",
            r"disappear forever",
            r"do something stupid",
            r"ready to die",
            r"thought of dying",
            r"thinking about dying",
            r"done with life",
            r"why (?:am i still here|do i even bother living|bother living)",
            r"(?:crash|crashing) my car",
            r"throw(?:ing)? myself",
            r"(?:i'?m|im) done",
            r"this is it",
            r"(?:going to|gonna|about to) do it",
            r"i'?m about to",
            r"doing it tonight",
            r"drown (?:myself|herself|himself)",
            r"drive into",
            r"use it on myself",
            r"until i die",
            r"not (?:gonna|going to) be here",
            r"not wake up",
            r"didn'?t wake up",
            r"fading away",
            r"telling me to (?:jump|die|kill)",
            r"don'?t trust myself",
            r"do me a favou?r",
        ),
        "jump": (
            r"想去天台",
            r"去天台",
            r"天台见",
            r"想跳楼",
            r"跳楼",
            r"想跳下去",
            r"跳下去",
            r"跳河",
            r"跳江",
            r"跳海",
            r"跳桥",
            r"卧轨",
            r"上吊",
            r"吊死",
            r"飞下去",
            r"就跳",
            r"从窗户出去",
            r"跳了算了",
            r"jump(?:ing)? (?:off|from)",
            r"jump in front of",
            r"hang(?:ing)? myself",
            r"(?:thinking|thought|thoughts|image) (?:about|of) (?:me )?jumping",
            r"(?:will|going to|gonna) jump",
        ),
    },
    "self_harm": {
        "self_harm": (
            r"自残",
            r"自伤",
            r"割自己",
            r"划自己",
            r"伤害自己",
            r"割腕",
            r"划手",
            r"用刀划",
            r"拿头撞墙",
            r"撞墙",
            r"烫自己",
            r"把自己(?:手臂|手|胳膊)?烫",
            r"打自己",
            r"掐自己",
            r"self[- ]?harm",
            r"hurt(?:ing)? myself",
            r"cut(?:ting)? myself",
            r"burn(?:ing|ed)? myself",
            r"slit my wrists?",
            r"cut(?:ting)? my wrists?",
            r"hit(?:ting)? myself",
            r"want to cut",
            r"cut again",
            r"started cutting",
            r"been cutting",
            r"bang(?:ing)? my head",
        ),
    },
    "plan": {
        "plan": (
            r"(?:going to|gonna|will|want to|wanna|plan to|about to) overdose",
            # Alone these are ambiguous; after a wish, or as the yes to a
            # counsellor's question, they are a plan (triage.context).
            r"想过(?:要)?(?:怎么|如何|用什么方法)(?:做|死|结束|弄|走|了结)",
            r"(?:thought|thinking) about how (?:i'?d|i would|i will|to) "
            r"(?:do it|die|end it|kill myself)",
            r"计划好了",
            r"已经想好了",
            r"想好了",
            r"想了很久",
            r"下定决心",
            r"决定了",
            r"都安排好了",
            r"安排好了后事",
            r"交代后事",
            r"准备好了",
            r"都准备好",
            r"已经准备",
            r"选好了(?:地方|日子|时间)",
            r"(?:攒|存|囤|藏)了[^，,。.]{0,6}(?:药|片|粒|颗)",
            r"(?:攒|存)够了",
            r"(?:药|片|粒)[^，,。.]{0,4}(?:攒|存|囤)(?:了|够|好)",
            r"攒的药",
            r"分好了",
            r"删干净",
            r"钱都转给",
            r"联系好了保险",
            r"试了一下[^，,。.]{0,6}结实",
            r"偷拿了[^，,。.]{0,4}药",
            r"已经买好",
            r"买好了",
            r"买了[^，,。.]{0,4}(?:绳|炭|刀片|农药)",
            r"打算[^，,。.]{0,4}(?:死|结束|了结|跳)",
            r"决定[^，,。.]{0,4}(?:死|结束|了结|离开|跳)",
            r"写好了",
            r"给[^，,。.]{0,6}的信",
            r"(?:存折|房产证|银行卡|密码|钥匙)[^。.!！?？]{0,10}(?:放|留|写|压)",
            r"i have a plan",
            r"i(?:'ve| have)? (?:got )?a plan",
            r"made a plan",
            r"i(?:'ve)? planned",
            r"have it (?:all )?planned",
            r"planning (?:to|on|how|this)",
            r"been planning",
            r"i(?:'ve| have)? decided",
            r"the date is",
            r"i'?ve written the letter",
            r"all that'?s left",
            r"worked out how",
            r"figured out how",
            r"i know how",
            r"i know when",
            r"know exactly how",
            r"mind is made up",
            r"made up my mind",
            r"made my choice",
            r"everything (?:i need|sorted|ready)",
            r"got everything",
            r"have the means",
            r"(?:saved|saving|stockpiled|hoarded|collected)"
            r" (?:up )?(?:my |all my |the )?(?:sleeping )?(?:pills|meds|tablets)",
            r"saved up for",
            r"took from the ward",
            r"bought (?:a |some |the )?"
            r"(?:rope|charcoal|razor|blades|tape)",
            # The Chinese counterpart of "bought charcoal" (炭 has no everyday
            # use in a city flat; 烧烤 charcoal is an idiom below).
            r"买(?:了|的|好了)(?:一?[包袋箱些点])?(?:木)?炭",
            r"绳子[^，,。.!！?？;；]{0,8}买(?:的|了|好|到)",
            r"put my affairs in order",
            r"gave away my",
            r"giving away my",
            r"left the door unlocked",
            r"wrote (?:a |my )?(?:note|letters?)",
            r"my note is written",
        ),
        # A date or time already chosen ("日子都选好了").
        "date_set": (
            r"(?:日子|时间|日期)(?:都|也)?(?:已经)?(?:选|定|挑)好了",
            r"i'?ve (?:picked|chosen|set) (?:a|the) (?:date|day|time)",
            r"i know (?:when|what day) i'?m (?:going to|gonna) do it",
        ),
        # Wanting to be left alone after saying the means are ready: with a
        # plan or means, a warning sign of an attempt; alone, only a mood.
        "withdrawal": (
            r"别(?:再)?(?:来)?(?:管|找|救)我了?",
            r"不要(?:再)?(?:来)?(?:管|找|救)我",
            r"让我(?:一个人)?(?:安静地?|清静地?)?(?:待着|呆着|走吧|去吧)",
            r"(?:just )?leave me alone",
            r"don'?t (?:come|look) (?:for|after) me",
            r"don'?t (?:try to )?(?:stop|save|find) me",
            r"let me go",
        ),
    },
    "means": {
        "means": (
            r"安眠药",
            r"安定片",
            r"一整瓶",
            r"一瓶药",
            r"一板",
            r"一大把",
            r"所有的药",
            r"攒的药",
            r"存的药",
            r"剩下的安眠药",
            r"药全",
            r"把药都",
            r"(?<![0-9一二三四五六七八九十百])[0-9一二三四五六七八九十百]{1,6}(?:颗|粒|片)",
            r"绳子",
            r"绳",
            r"刀片",
            r"水果刀",
            r"菜刀",
            r"剪刀",
            r"刀",
            r"煤气",
            r"烧炭",
            r"木炭",
            r"炭",
            r"胶带",
            r"农药",
            r"百草枯",
            r"敌敌畏",
            r"老鼠药",
            r"灭鼠",
            r"楼顶",
            r"天台",
            r"顶楼",
            r"窗台",
            r"窗边",
            r"窗户边",
            r"栏杆",
            r"江边",
            r"河边",
            r"湖边",
            r"桥上",
            r"铁轨",
            r"车库",
            r"汽车尾气",
            r"白酒",
            r"炭盆",
            r"汽油",
            r"皮带",
            r"吊灯",
            r"头孢",
            r"大车",
            r"药和酒",
            r"斧头",
            r"锤子",
            r"顶层",
            r"最高(?:那)?(?:栋|层)",
            r"楼道门",
            r"开水",
            r"门窗都(?:关|封)",
            r"门缝(?:也)?(?:塞|封)",
            r"sleeping pills",
            r"(?:all|whole bottle of|bottle of|handful of) "
            r"(?:my |the |her |his )?(?:pills|meds|tablets)",
            r"pills",
            r"tablets",
            r"rope",
            r"noose",
            r"razors?",
            r"blades?",
            r"knife",
            r"gun",
            r"hammer",
            r"charcoal",
            r"bleach",
            r"pesticide",
            r"rooftop",
            r"(?:the|a) roof",
            r"ledge",
            r"windowsill",
            r"railing",
            r"bridge",
            r"train tracks",
            r"stairwell",
            r"(?<![0-9])[0-9]{1,3}(?:th|st|nd|rd) floor",
            r"potassium chloride",
            r"pilot light",
            r"the gas",
            r"tape for the door",
            r"weedkiller",
            r"rat poison",
            r"scarf is ready",
            r"every pill",
            r"roof door",
            r"axe",
        ),
    },
    "time": {
        "time": (
            r"今晚",
            r"今天晚上",
            r"今夜",
            r"明天就",
            r"明早",
            r"明晚",
            r"待会",
            r"等会",
            r"一会儿就",
            r"马上就",
            r"现在就",
            r"就现在",
            r"过了今晚",
            r"天亮(?:之)?前",
            r"天黑",
            r"这个周末",
            r"(?:等|趁)[^，,。.]{0,6}睡着",
            r"等他们睡",
            r"等大家睡",
            r"下班后",
            r"下了班就",
            r"(?<![0-9一二三四五六七八九十])[0-9一二三四五六七八九十]{1,3}点(?:以后|之后|就)",
            r"半夜",
            r"凌晨",
            r"抽完就",
            r"说完就",
            r"发完",
            r"就今晚",
            r"今天就用",
            r"天一亮",
            r"明天早上",
            r"tonight",
            r"tomorrow",
            r"tmrw",
            r"right now",
            r"this weekend",
            r"in an hour",
            r"before (?:morning|sunrise|dawn)",
            r"when it gets dark",
            r"get dark",
            r"midnight",
            r"after my shift",
            r"when i finish",
            r"when everyone(?:'s| is) asleep",
            r"(?:going|i'?m going) (?:up )?now",
            r"on (?:saturday|sunday|monday|tuesday|wednesday|thursday|friday)",
            r"(?:saturday|sunday|monday|tuesday|wednesday|thursday|friday)",
            r"2nite",
            r"by morning",
            r"next minute",
        ),
    },
    "farewell": {
        "farewell": (
            # A goodbye with a time, no means named ("过了今晚你们就不用再担心我了").
            r"(?:今晚|今天|明天|今夜|过了今晚|今晚过后|今天过后)[^，,。.!！?？]{0,8}"
            r"(?:就)?(?:不用|不必|不会)再?(?:担心|管|操心|麻烦)(?:我|你们)",
            r"(?:after|past) (?:tonight|today)[^.,;!?]{0,20}(?:won'?t|will not|don'?t) "
            r"(?:have to|need to) worry about me",
            r"(?:tonight|today) is (?:my|the) last (?:night|day)",
            r"(?:今晚|今天)是(?:我的)?最后一(?:晚|天|夜)",
            r"永别",
            r"告别",
            r"道别",
            r"再见了(?:这个)?世界",
            r"拜拜了",
            r"下辈子见",
            r"下辈子再见",
            r"来世再见",
            r"最后一(?:条|句|根烟)",
            r"最后一次(?:跟|和|说|打扰)",
            r"最后看一眼",
            r"最后(?:跟|和)你们",
            r"最后说一句",
            r"遗言",
            r"遗书",
            r"忌日",
            r"对不起(?:大家|爸妈|爸爸|妈妈|所有人|你们)",
            r"替我照顾",
            r"帮我照顾",
            r"照顾好我(?:妈|爸|的孩子|家人)",
            r"托付给",
            r"(?:别|不用|不要)(?:再)?找我",
            r"当我没来过",
            r"不会再打扰",
            r"别想我",
            r"忘了我吧",
            r"我走了以后",
            r"我走后",
            r"我不在了以后",
            r"我死后",
            r"我死了以后",
            r"银行卡密码",
            r"东西都送人",
            r"送人了",
            r"勿念",
            r"大家保重",
            r"我先走了",
            r"永远的",
            r"最后的消息",
            r"晚安，?永远",
            r"这次不会回来",
            r"说(?:了)?再见[^，,。.]{0,4}(?:然后|就)",
            r"goodbye (?:forever|everyone|world|message)",
            r"final goodbye",
            r"this is goodbye",
            r"last message",
            r"my last night",
            r"last night on earth",
            r"see you on the other side",
            r"by the time you read this",
            r"tell everyone",
            r"tell my (?:mom|mum|dad|family|kids|wife|husband) "
            r"(?:i|that i) (?:love|'?m sorry)",
            r"take care of my (?:cat|dog|kids|mom|mum)",
            r"(?:feeds|feed|look after) my (?:dog|cat)",
            r"after i'?m gone",
            r"when i'?m gone",
            r"won'?t be (?:around|here) (?:tomorrow|anymore|much longer)",
            r"suicide note",
            r"goodbye note",
            r"not angry at anyone",
            r"i'?m sorry for everything",
            r"wanted (?:someone|somebody) to know",
            r"hear a voice before",
            r"letters to everyone",
            r"forgive me",
            r"sorry for everything",
            r"sorry mom",
            r"(?:it'?s|is) the last time",
            r"last stream",
            r"left a note",
            r"don'?t message me back",
            r"so my body gets found",
        ),
    },
    "act": {
        "overdose": (
            r"已经吃了[^，,。.]{0,6}(?:药|片|粒|颗)",
            r"吃了一整瓶",
            r"吞了[^，,。.]{0,6}(?:药|片|粒|颗)",
            r"吃了(?:[0-9]{1,4}|几十|一把|一大把|好多|半瓶|一瓶|一板|半盒|所有的?|全部)[^，,。.]{0,3}"
            r"(?:安眠药|药|片|粒|颗)",
            r"药已经(?:吃|吞|下肚)",
            r"药[^，,。.]{0,3}下肚",
            r"(?:药|安眠药)(?:都|全)吃了",
            r"安眠药吃了",
            r"全吃了",
            r"一把一把地吃",
            r"喝了[^，,。.]{0,4}(?:白酒)[^。.]{0,8}吃了",
            r"全吞了",
            r"吃光了",
            r"药效(?:开始)?发作",
            r"喝了[^，,。.]{0,3}(?:农药|百草枯|敌敌畏|消毒液|84)",
            r"i(?:'ve)? (?:took|taken|swallowed) "
            r"(?:[0-9]{1,4}|all|a whole|the whole|a handful|"
            r"a bunch|too many|lots|them)",
            r"already took",
            r"(?:swallowed|took|taken|downed) (?:a|the|half a|a whole|the whole|two) "
            r"(?:bottle|box|pack|packet|strip|blister)",
            r"(?:吞|吃|喝)(?:了|下)?(?:一|半|整|两)(?:整)?(?:瓶|盒|板)",
            r"overdosed",
            r"i(?:'ve)? od'?d",
            r"pills are (?:kicking in|working)",
            r"(?:they'?re|it'?s) kicking in",
            r"(?:just )?took (?:like )?[0-9]{1,4}",
            r"took the (?:tablets|pills)",
            r"i'?ve done it",
            r"took (?:all|'?all) of them",
            r"drinking the (?:weedkiller|bleach|poison|pesticide)",
            r"already had half",
            r"opening the bottles",
            r"pills 吃完了",
            r"overdose 了",
            r"(?:刚刚|刚才|已经)overdose",
            r"drank (?:the |some |a (?:bottle|cup|glass) of )?"
            r"(?:bleach|pesticide|poison|weedkiller|antifreeze)",
        ),
        "bleeding": (
            r"已经割",
            r"割了",
            r"割开",
            r"划了(?:一|几|好)",
            r"划下去",
            r"划开",
            r"流了好多血",
            r"好多血",
            r"血止不住",
            r"止不住血",
            r"血一直流",
            r"血流",
            r"血留",
            r"流血不止",
            r"血(?:还|一直)?在(?:流|往外)",
            r"还在(?:流血|出血)",
            r"(?:still|keeps?) bleeding",
            r"bleeding (?:a lot|badly|heavily|won'?t stop)",
            r"地上有血",
            r"流出血",
            r"i(?:'ve)? cut (?:my wrists?|too deep|deep)",
            r"went too deep",
            r"can'?t stop the bleeding",
            r"won'?t stop bleeding",
            r"i'?m bleeding",
            r"blood (?:everywhere|all over)",
            r"lot of blood",
            r"cut both wrists",
            r"water is red",
            r"deep cuts",
            r"already burned",
            r"burned my arm",
        ),
        "at_edge": (
            r"(?:站|坐|骑|蹲)(?:在|着)[^，,。.]{0,6}(?:楼顶|天台|顶楼|窗台|窗户上|桥|栏杆|阳台边|江边|河边)",
            r"我在天台",
            r"我在楼顶",
            r"我在江边",
            r"我在桥上",
            r"爬上(?:了)?(?:楼顶|天台|窗台|栏杆)",
            r"跨出去了",
            r"鞋(?:已经)?脱",
            r"已经(?:在|到)(?:了)?(?:天台|楼顶|顶楼|桥上|江边|河边|窗台)",
            r"在(?:桥上|窗台上|天台上)了",
            r"就在[^，,。.]{0,12}(?:楼顶|天台)上?",
            r"已经(?:走到|站到)",
            r"翻出去",
            r"探出(?:窗户|窗外)",
            r"跨到栏杆外",
            r"(?:挂|吊)好了",
            r"炭盆点着",
            r"已经有血",
            r"把自己[^，,。.]{0,4}烫了",
            r"烫伤了自己",
            r"煤气(?:已经)?开",
            r"开了煤气",
            r"炭(?:已经|也)?(?:点|烧)",
            r"车(?:已经)?发动",
            r"绳子(?:已经)?(?:挂|系)好",
            r"(?:standing|sitting) on the "
            r"(?:roof|ledge|bridge|edge|railing|windowsill)",
            r"on the (?:ledge|windowsill|roof of)",
            r"i'?m on the roof",
            r"legs are outside",
            r"rope is (?:ready|tied|up)",
            r"noose is tied",
            r"opened the gas",
            r"car is running",
            r"in the bathtub with",
        ),
    },
    "violence": {
        "violence": (
            r"杀了(?:他|她|他们|她们|你|那个)",
            r"想杀人",
            r"杀人",
            r"砍死",
            r"砍了",
            r"捅死",
            r"捅了",
            r"弄死(?:他|她|你)",
            r"打死(?:你|他|她|我)",
            r"掐死",
            r"同归于尽",
            r"报复社会",
            r"拿刀砍",
            r"刀架在",
            r"拿刀(?:对着|指着|威胁)",
            r"跟(?:他|她|你)拼了",
            r"要么他死",
            r"推下(?:楼|楼梯)",
            r"泼(?:开水|硫酸)",
            r"捂住(?:他|她|孩子)",
            r"追着[^，,。.]{0,6}砍",
            r"有人受伤",
            r"拿着刀站在",
            r"(?:一桶|拿着)汽油",
            r"伤害(?:他|她|孩子|宝宝)",
            r"(?:拿着|拎着)(?:斧头|锤子|刀)",
            r"砸(?:门|人)",
            r"(?:带|拉|抱)着(?:孩子|他们|他|她|家人)(?:一起)?(?:走|死|跳)",
            r"和孩子一起死",
            r"(?:怕|害怕|担心)(?:我)?(?:会|控制不住)?(?:自己)?(?:伤害|打伤|掐|弄伤|伤到|弄死|摇)"
            r"(?:我的?)?(?:孩子|儿子|女儿|宝宝|小孩|娃)",
            r"(?:磨|磨好|磨快)了?(?:一把|把|的)?刀[^，,。.!！?？]{0,10}(?:给|对付|找|等着)",
            r"刀[^，,。.!！?？]{0,6}磨(?:好|快)了?[^。.!！?？]{0,12}"
            r"(?:给|对付|找|等着?)(?:他|她|那个|隔壁|邻居|楼上|楼下)",
            r"(?:afraid|scared|terrified) (?:i'?ll|i will|i might|i'?m going to|of) "
            r"(?:hurt|harm|hit|shake)"
            r"(?:ing)? (?:my )?(?:baby|kid|kids|child|children|son|daughter|toddler)",
            r"sharpen(?:ed|ing)? (?:a|the|my|this) (?:knife|blade|axe)s? "
            r"(?:for|to use on|to get) (?:him|her|them|my|the|that)",
            r"kill (?:him|her|them|you|my (?:husband|wife|boss|neighbou?r|family))",
            r"hurt (?:someone|somebody|them|him|her|people|the (?:man|woman|guy))",
            r"stab (?:him|her|them|someone)",
            r"shoot (?:him|her|them|someone|people)",
            r"take (?:them|my kids|the kids) with me",
            r"make them (?:all )?pay",
            r"murder",
            r"i'?ll kill",
            r"going to kill (?:him|her|them)",
            r"hurting my baby",
            r"knife to (?:my|his|her) (?:throat|neck)",
            r"holding a knife",
            r"has a knife",
            r"threw boiling water",
            r"pushed me down",
        ),
    },
    "medical_emergency": {
        "medical_emergency": (
            r"叫不醒",
            r"叫不太醒",
            r"(?:叫|喊|敲门)[^，,。.]{0,4}没(?:什么)?反应",
            r"不省人事",
            r"没有意识",
            r"失去意识",
            r"昏迷",
            r"没呼吸",
            r"没有呼吸",
            r"不能呼吸",
            r"嘴唇(?:都)?(?:发)?(?:紫|白)",
            r"血氧[^，,。.]{0,4}(?:[5-8]\d|五十|六十|七十|八十)",
            r"嘴(?:角)?(?:也)?歪",
            r"突然说不出话",
            r"说话含糊",
            r"口齿不清",
            r"半边身",
            r"一边手脚",
            r"手脚没力气",
            r"左(?:边)?(?:肩膀|手臂|胳膊)(?:发)?麻",
            r"大出血",
            r"一直(?:在)?出血",
            r"出血不止",
            r"羊水破",
            r"破水",
            r"要生了",
            r"快生了",
            r"抽搐",
            r"癫痫发作",
            r"吐血",
            r"误吞",
            r"误服",
            r"休克",
            r"透析[^，,。.]{0,6}(?:断了|没做|停了)",
            r"胰岛素(?:已经|都)?(?:断了|没了|用完了)",
            r"救护车[^，,。.]{0,6}(?:不来|还没来|打不通|排队|要等|多久)",
            r"120[^，,。.]{0,4}(?:打不通|不来|没人接|要等|排|占线)",
            r"噎住",
            r"憋得[^，,。.]{0,4}紫",
            r"发紫",
            r"没声(?:音)?了",
            r"喊不醒",
            r"倒在地上不动",
            r"一动不动",
            r"叫[^，,。.]{0,2}不醒",
            r"呼吸(?:很|越来越)?弱",
            r"突然没(?:有)?反应",
            r"喊救命",
            r"从[^，,。.]{0,6}掉下来",
            r"一直流血",
            r"脸白得",
            r"往左边胳膊",
            r"胸口压着疼",
            r"好几天没吃饭",
            r"哮喘(?:犯了|发作)",
            # Empty during an attack; "快用完了" (running low) is a medicine need.
            r"(?:喷雾|吸入器)(?:已经|都)?(?:用完了|没了|空了)",
            r"asthma attack",
            r"inhaler (?:is |'s )?empty",
            r"(?:sats|oxygen|o2)(?: levels?)? (?:is |are )?(?:dropping|falling)",
            r"not waking up",
            r"won'?t wake up",
            r"unresponsive",
            r"unconscious",
            r"not breathing",
            r"stopped breathing",
            r"gasping",
            r"lips (?:are |turning )?(?:blue|purple|grey|gray|white)",
            r"drooping",
            r"slurred",
            r"clutching (?:his|her|my) chest",
            r"left arm (?:is )?numb",
            r"bleeding heavily",
            r"pouring blood",
            r"gush of blood",
            r"water (?:just )?broke",
            r"swallowed a",
            r"choking",
            r"face (?:is )?swelling",
            r"throat (?:is )?closing",
            r"oxygen (?:is |level |saturation )?(?:at |is )?[5-8]\d",
            r"not moving",
            r"ambulance (?:line|won'?t|isn'?t|hasn'?t|is not)",
            r"no ambulance",
            r"nobody answers",
            r"not responding",
            r"(?:appendix|waters?) (?:has )?burst",
            r"burning up",
            r"not making sense",
            r"can'?t swallow",
            r"(?:seizure|bleeding) (?:that )?won'?t stop",
            r"turning blue",
            r"barely breathing",
            r"floppy",
            r"greyish",
            r"from under the sink",
            r"(?:oxygen|spo2|sats?)[^.,;!?]{0,30}\b[5-8]\d ?%",
            r"bleeding a lot",
            r"lying on the floor",
            r"hasn'?t answered in",
            r"bad smell",
            r"in shock",
            r"skin is coming off",
            r"wandered (?:out|off)",
            r"can'?t remember (?:his|her) (?:address|name)",
            r"head is swelling",
            r"drowsy",
            r"can'?t breathe lying down",
            r"pale and sweaty",
            r"arm is heavy",
        ),
    },
    # Symptoms that may be an emergency or a panic attack: model features only.
    "medical_symptom": {
        "medical_symptom": (
            r"呼吸困难",
            r"胸口(?:剧痛|疼|痛|压)",
            r"心梗",
            r"心脏病(?:发作|犯了)",
            r"中风",
            r"一直吐",
            r"倒在地上",
            r"起不来",
            r"摔倒",
            r"高烧不退",
            r"烧到(?:39|40|41|四十)",
            r"低血糖",
            r"晕倒",
            r"昏倒",
            r"晕过去",
            r"叫救护车",
            r"急救",
            r"救命",
            r"冷汗",
            r"站不起来",
            r"wheezing",
            r"heart attack",
            r"stroke",
            r"seizures?",
            r"chest pain",
            r"vomiting",
            r"passed out",
            r"collapsed",
            r"high fever",
            r"fell",
            r"contractions",
        ),
    },
    "third_party": {
        "third_party": (
            rf"我(?:的)?(?:{_PEOPLE_ZH})",
            r"隔壁",
            r"对门",
            r"楼上(?:的|那)",
            r"楼下(?:的|那)",
            r"(?:他|她)(?:一直|总是|又|老是)?(?:说|讲|发消息说)",
            r"有个人",
            rf"my (?:{_PEOPLE_EN})",
            r"(?:he|she|they) (?:says|said|keeps saying|told me|texted)",
            r"the (?:lady|man|woman|guy|old man|old lady) "
            r"(?:next door|across|upstairs|downstairs)",
            r"one of the",
            r"someone in (?:my|our) building",
        ),
    },
    "panic": {
        "attack": (
            r"惊恐发作",
            r"恐慌发作",
            r"惊恐",
            r"喘不过气",
            r"喘不上气",
            r"喘不上起",
            r"透不过气",
            r"呼吸不过来",
            r"呼吸不上来",
            r"(?:是不是|感觉|觉得)(?:自己)?(?:快|要)死了",
            r"濒死",
            r"控制不住地?(?:抖|发抖)",
            r"panic attack",
            r"hyperventilat[a-z]{0,6}",
            r"can'?t catch my breath",
            r"can'?t breathe",
            r"feel(?:s)? like i'?m (?:dying|going to die)",
            r"i think i'?m dying",
            r"am i dying",
            r"can'?t stop shaking",
        ),
        "symptom": (
            r"心跳(?:得)?(?:好|很|特别|越来越)?快",
            r"心跳加速",
            r"心砰砰",
            r"心悸",
            r"手脚(?:都是)?(?:发)?麻",
            r"手抖",
            r"浑身发抖",
            r"发抖",
            r"快要晕",
            r"要晕倒",
            r"panicking",
            r"heart (?:is )?(?:racing|pounding)",
            r"shaking all over",
            r"freaking out",
            r"losing my mind",
            r"tingling",
            r"room spinning",
            r"going to pass out",
        ),
    },
    "abuse": {
        "abuse": (
            r"家暴",
            r"打我",
            r"打了我",
            r"踹(?:了)?我",
            r"打(?:孩子|儿子|女儿)",
            r"(?:他|她)(?:又|每天|经常|总是|一直)?(?:打|揍|踢|掐|扇)(?:我|孩子)",
            r"被(?:我)?(?:老公|丈夫|爸|妈|他|她)?打",
            r"揍我",
            r"掐我",
            r"踢我",
            r"扇我",
            r"动手了",
            r"又动手",
            r"衣架(?:打|抽)",
            r"拿[^，,。.]{0,3}抽我",
            r"威胁我",
            r"威胁要",
            r"(?:他|她)不让我(?:出门|出去|吃饭|打电话|说话|睡)",
            r"把我(?:锁|关|反锁)",
            r"被(?:关|锁)在",
            r"反锁着我",
            r"不给我饭",
            r"收走了",
            r"摔了我的",
            r"虐待",
            r"性侵",
            r"猥亵",
            r"摸我",
            r"强迫我",
            r"骚扰",
            r"收拾我",
            r"hits me",
            r"hit me",
            r"hits (?:our|my|the) (?:son|daughter|kid|kids|child|children)",
            r"beats me",
            r"beat me",
            r"beating (?:his|her|me)",
            r"slapped me",
            r"kicked (?:me|it)",
            r"twisted my arm",
            r"pushed me",
            r"abuse[ds]?",
            r"abusive",
            r"abusing",
            r"threaten(?:s|ed|ing)? (?:me|to (?:kill|hurt|beat|hit|throw))",
            r"lock(?:s|ed)? me",
            r"(?:he|she) (?:won'?t|doesn'?t) let me",
            r"takes my phone",
            r"hurts me",
            r"chok(?:es|ed) me",
            r"forced me",
            r"coming into my room",
            r"touch(?:es|ed) me",
        ),
    },
    "medication_stopped": {
        "medication_stopped": (
            r"断药",
            r"药断了",
            r"停药",
            r"药停了",
            r"药吃完了?",
            r"药没了",
            r"没药了",
            r"药快(?:吃完|没)了?",
            r"买不到药",
            r"配不到药",
            r"开不到药",
            r"拿不到药",
            r"药送不进",
            r"药[^，,。.]{0,4}断了",
            r"(?:ran|run|running) out of (?:my |her |his )?"
            r"(?:meds|medication|pills|medicine|"
            r"insulin|prescription)",
            r"(?:prescription|meds|medication) ran out",
            r"off (?:my|her|his) meds",
            r"stopped taking (?:my |her |his )?(?:meds|medication|pills)",
            r"no (?:more )?(?:meds|medication) left",
            r"no meds for",
            r"hasn'?t had (?:her|his|my) meds",
            r"can'?t get (?:my|her|his) (?:meds|medication|refill)",
            r"out for [0-9]{1,3} days",
            r"ran out [0-9]{1,3} days",
        ),
        "psychiatric_drug": (_PSYCH_DRUGS_RUN_OUT,),
    },
    "psychiatric": {
        "psychiatric": (
            r"抑郁症",
            r"产后抑郁",
            r"双相",
            r"躁郁",
            r"精神分裂",
            r"焦虑症",
            r"强迫症",
            r"精神科",
            r"精神病",
            r"抗抑郁",
            rf"(?:{_PSYCH_DRUGS})",
            r"幻听",
            r"听见[^，,。.]{0,6}(?:声音|说话)",
            r"听到[^，,。.]{0,6}(?:声音|说话)",
            r"有人要害",
            r"监视",
            r"antidepressants?",
            r"bipolar",
            r"schizophreni[a-z]{0,4}",
            r"psychiatri[a-z]{0,4}",
            r"psychosis",
            r"psychotic",
            r"voices",
            r"lithium",
            r"sertraline",
            r"zoloft",
            r"prozac",
            r"fluoxetine",
            r"paroxetine",
            r"quetiapine",
            r"olanzapine",
            r"clozapine",
            r"risperidone",
            r"lexapro",
            r"escitalopram",
            r"venlafaxine",
            r"ptsd",
            r"fluvoxamine",
            r"ocd",
        ),
    },
    "hopelessness": {
        "hopelessness": (
            r"绝望",
            r"没有希望",
            r"没希望",
            r"看不到希望",
            r"没有未来",
            r"看不到未来",
            r"看不到头",
            r"撑不下去",
            r"撑不住",
            r"扛不动",
            r"扛不住",
            r"熬不下去",
            r"坚持不下去",
            r"活着没意思",
            r"活着没意义",
            r"活着好难",
            r"活着好累",
            r"生不如死",
            r"活着有什么意义",
            r"不想再过",
            r"这辈子就这样",
            r"没人在乎",
            r"没人记得",
            r"是个废物",
            r"失败者",
            r"我是(?:个)?累赘",
            r"拖累",
            r"负担",
            r"放弃了",
            r"解脱",
            r"人间不值得",
            r"不知道怎么活下去",
            r"怎么活下去",
            r"还能撑多久",
            r"力气都没有",
            r"开心不起来",
            r"什么都感觉不到",
            r"hopeless",
            r"no hope",
            r"no future",
            r"no point",
            r"pointless",
            r"see the point",
            r"can'?t go on",
            r"can'?t take (?:it|this|any more|anymore)",
            r"can'?t bear it",
            r"can'?t do this anymore",
            r"giving up",
            r"given up",
            r"give up on (?:life|everything)",
            r"no way out",
            r"(?:i'?m|i am) a burden",
            r"a burden",
            r"nobody (?:would )?cares?",
            r"worthless",
            r"(?:i'?m )?a failure",
            r"trapped",
            r"my life is over",
            r"i'?m breaking",
            r"don'?t care what happens to me",
            r"no reason to (?:get up|go on|keep going)",
            r"feel nothing",
        ),
    },
    "distress": {
        "distress": (
            r"焦虑",
            r"睡不着",
            r"失眠",
            r"孤独",
            r"寂寞",
            r"难过",
            r"伤心",
            r"压力(?:好|很|太)?大",
            r"烦躁",
            r"崩溃",
            r"抑郁",
            r"郁闷",
            r"害怕",
            r"担心",
            r"想哭",
            r"哭了",
            r"好累",
            r"心慌",
            r"emo",
            r"anxious",
            r"anxiety",
            r"can'?t sleep",
            r"insomnia",
            r"lonely",
            r"stressed",
            r"depressed",
            r"scared",
            r"worried",
            r"crying",
            r"overwhelmed",
            r"exhausted",
        ),
    },
    "recovery": {
        "recovery": (
            r"现在好多了",
            r"现在好了",
            r"已经好了",
            r"走出来了",
            r"现在没事了",
            r"好起来了",
            r"慢慢好了",
            r"很久没再想",
            r"better now",
            r"(?:i'?m|i am) (?:ok|okay|fine) now",
            r"doing (?:better|great|well) now",
            r"not anymore",
            r"got help",
            r"in therapy",
        ),
    },
    # Context cues for the model; they never raise a level on their own
    # (habitual ideation keeps a wish with means at high, see rule_floor).
    "habitual": {
        "habitual": (
            r"每天",
            r"天天",
            r"经常",
            r"总是",
            r"常常",
            r"老是",
            r"有时候",
            r"有时",
            r"时不时",
            r"好几次",
            r"每次",
            r"最近老",
            r"every day",
            r"everyday",
            r"always",
            r"sometimes",
            r"often",
            r"some nights",
            r"whenever",
            r"keep thinking",
            r"keep having",
        ),
    },
    "question": {
        "question": (
            r"吗[?？]?$",
            r"吗[？?]",
            r"能不能",
            r"可不可以",
            r"可以吗",
            r"怎么(?:办理|申请|买|联系|预约)",
            r"哪里",
            r"哪个",
            r"多少",
            r"什么时候",
            r"几点",
            r"请问",
            r"有没有",
            r"how (?:do|can|long|much)",
            r"where (?:can|do|is)",
            r"when (?:does|do|will|is)",
            r"can i",
            r"can you",
            r"could you",
            r"is there",
            r"are there",
            r"do you",
            r"any (?:delivery|way|chance)",
        ),
    },
    "gratitude": {
        "gratitude": (
            r"谢谢",
            r"感谢",
            r"辛苦了",
            r"thank",
            r"thanks",
            r"appreciate",
        ),
    },
    "joking": {
        "joking": (
            r"哈哈",
            r"开玩笑",
            r"气话",
            r"说说而已",
            r"lol",
            r"lmao",
            r"jk",
            r"just kidding",
            r"kidding",
            r"😂",
            r"🤣",
        ),
    },
}

# What the needs tags are about (see the corpus README).
NEED_LEXICON: dict[str, tuple[str, ...]] = {
    "supplies": (
        r"没(?:有)?吃的",
        r"没饭吃",
        r"没(?:有)?菜",
        r"没米",
        r"断粮",
        r"缺粮",
        r"买不到菜",
        r"抢不到菜",
        r"抢菜",
        r"团购",
        r"物资",
        r"食物",
        r"粮食",
        r"大米",
        r"米面",
        r"蔬菜",
        r"面粉",
        r"鸡蛋",
        r"牛奶",
        r"奶粉",
        r"尿不湿",
        r"纸尿裤",
        r"卫生巾",
        r"卫生纸",
        r"日用品",
        r"生活用品",
        r"猫粮",
        r"狗粮",
        r"饮用水",
        r"没水喝",
        r"饿肚子",
        r"吃不上饭",
        r"菜吃完",
        r"(?:米|面|菜|油|粮|吃的|食物)[^，,。.]{0,4}(?:吃完|没了|快没|不够)",
        r"吃的(?:快)?没了",
        r"food",
        r"groceries",
        r"grocery",
        r"rice",
        r"flour",
        r"vegetables",
        r"milk",
        r"formula",
        r"diapers?",
        r"nappies",
        r"sanitary pads",
        r"toilet paper",
        r"supplies",
        r"nothing to eat",
        r"pet food",
        r"drinking water",
    ),
    "medicine": (
        r"药吃完",
        r"药快(?:吃完|没)",
        r"药没了",
        r"没药了",
        r"断药",
        r"缺药",
        r"买不到药",
        r"配不到药",
        r"开不到药",
        r"拿不到药",
        r"配药",
        r"开药",
        r"续药",
        r"拿药",
        r"买药",
        r"降压药",
        r"降糖药",
        r"胰岛素",
        r"速效救心丸",
        r"哮喘药",
        r"吸入剂",
        r"华法林",
        r"优甲乐",
        r"常用药",
        r"慢性病(?:的)?药",
        r"处方药",
        r"medication",
        r"medicine",
        r"meds",
        r"prescription",
        r"refill",
        r"pharmacy",
        r"insulin",
        r"inhaler",
        r"blood pressure (?:pills|tablets|meds)",
    ),
    "medical": (
        r"透析",
        r"血透",
        r"怀孕",
        r"孕妇",
        r"孕周",
        r"产检",
        r"临产",
        r"预产期",
        r"要生了",
        r"羊水",
        r"发烧",
        r"发热",
        r"高烧",
        r"烧到",
        r"化疗",
        r"放疗",
        r"癌症",
        r"肿瘤",
        r"骨折",
        r"摔倒",
        r"摔伤",
        r"受伤",
        r"伤口",
        r"就医",
        r"看病",
        r"急诊",
        r"住院",
        r"手术",
        r"心脏病",
        r"糖尿病",
        r"哮喘",
        r"呼吸困难",
        r"胸痛",
        r"dialysis",
        r"pregnan[a-z]{1,5}",
        r"due date",
        r"in labou?r",
        r"fever",
        r"high temperature",
        r"chemo[a-z]{0,8}",
        r"cancer",
        r"broken (?:arm|leg|bone|wrist|hip)",
        r"fracture",
        r"injur[a-z]{1,4}",
        r"wound",
        r"emergency room",
        r"surgery",
        r"heart condition",
        r"diabetes",
        r"diabetic",
        r"asthma",
        r"see a doctor",
        r"hospital",
    ),
    "care": (
        r"独居",
        r"一个人住",
        r"空巢",
        r"老人一个人",
        r"孤寡",
        r"没人照顾",
        r"瘫痪",
        r"卧床",
        r"残疾",
        r"残障",
        r"轮椅",
        r"盲人",
        r"失明",
        r"聋",
        r"失智",
        r"老年痴呆",
        r"阿尔茨海默",
        r"(?:孩子|小孩)(?:一个人|独自)在家",
        r"(?:孩子|小孩)没人(?:管|带|照顾)",
        r"没人带孩子",
        r"网课",
        r"没有?电脑",
        r"没有?平板",
        r"lives? alone",
        r"living alone",
        r"elderly",
        r"bedridden",
        r"disabled",
        r"disability",
        r"wheelchair",
        r"blind",
        r"deaf",
        r"dementia",
        r"alzheimer'?s?",
        r"no one to (?:look after|take care of|care for)",
        r"kids? (?:are )?(?:home )?alone",
        r"childcare",
        r"online (?:class|classes|school)",
        r"laptop",
        r"tablet for",
    ),
}

# Hyperbole and set phrases that contain risk words but are not about risk.
IDIOMS: tuple[str, ...] = (
    r"笑死",
    r"笑死我了",
    r"笑死人",
    r"笑不活了?",
    r"累死",
    r"累得半死",
    r"饿死",
    r"烦死",
    r"吓死",
    r"热死",
    r"冷死",
    r"困死",
    r"忙死",
    r"气死",
    r"急死",
    r"闷死",
    r"无聊死",
    r"丑死",
    r"美死",
    r"爱死",
    r"馋死",
    r"渴死",
    r"晒死",
    r"挤死",
    r"吵死",
    r"臭死",
    r"痛死",
    r"疼死",
    r"羡慕死",
    r"难死",
    r"懒死",
    r"哭死",
    r"可怜死",
    r"难吃死",
    r"难看死",
    r"难听死",
    r"香死",
    r"帅死",
    r"(?<!安)乐死",  # not 安乐死 (euthanasia)
    r"憋死",
    r"尴尬死",
    r"麻烦死",
    r"紧张死",
    r"痒死",
    r"撑死",
    r"心疼死",
    # "累得要死", "调得我要死了"; not "觉得我要死了", which is about dying.
    r"(?<![觉懂记显获舍值晓使])得(?:我|人)?要死",
    r"个半死",
    r"社死",
    r"(?<!想)原地去世",
    r"想死(?:你|您|你们|他|她|他们|她们|它|宝宝)(?:了|啦)?",
    r"想死我了",
    r"死机",
    r"死党",
    r"死活",
    r"死心",
    r"死磕",
    r"死宅",
    r"死贵",
    r"死定了",
    r"找死",
    r"半死",
    r"打死(?:我)?也不",
    r"死鸭子嘴硬",
    r"死马当活马医",
    r"作死",
    r"该死的",
    r"你去死",
    r"去死吧",
    r"消杀",
    r"杀毒",
    r"杀菌",
    r"杀虫",
    r"秒杀",
    r"杀价",
    r"杀时间",
    r"杀青",
    r"跳楼价",
    r"跳楼大甩卖",
    r"跳槽",
    r"跳舞",
    r"跳绳",
    r"打我电话",
    r"打我手机",
    r"打我号码",
    r"割韭菜",
    r"上吊了(?:个|一)",
    r"告别式",
    # Everyday goodbyes and ropes.
    r"(?:跟|和|与)(?:同事|同学|老同事|老同学|室友|老师|领导)[^，,。.!！?？;；]{0,8}(?:告别|道别)",
    r"晾衣绳",
    # Rope for laundry, in its own clause or the next one ("绳子买好了，明天去晾
    # 被子"); not "快递员以为我要晾衣服", where the laundry is someone's guess.
    r"绳子[^，,。.!！?？;；]{0,8}(?:[，,](?:明天|今天|等会儿?|一会儿)?"
    r"(?:去|用来|拿来|准备)?)?(?:晾|晒)(?:衣服|被子|被|床单|东西)",
    r"烧烤(?:用的)?(?:木)?炭",
    r"买了?[根条捆卷]?绳子?[^，,。.!！?？;；]{0,6}(?:晾|晒|跳|捆|绑|打包)",
    # Talking about suicide as a topic (prevention, teaching, a child's question).
    r"预防自杀",
    r"自杀预防",
    r"防自杀",
    r"自杀(?:这个|这类|的)?话题",
    r"为什么会自杀",
    r"suicide prevention",
    r"prevent(?:ing)? suicide",
    r"(?:talk|speak|chat)(?:ing)? (?:to (?:[a-z]{1,20} ){1,2})?about suicide",
    r"could murder",
    r"rope for (?:the |a )?(?:clothes ?line|washing line|laundry)",
    r"murder a",
    # Ends on the next word: Latin entries must end at a word boundary.
    r"overdosed? on (?!pills|meds|my|her|his|sleeping|"
    r"insulin|tablets|them)[a-z]{1,30}",
    r"dying to",
    r"dying for",
    r"to die for",
    r"killing time",
    r"kill(?:ing)? (?:some )?time",
    r"bored to death",
    r"scared to death",
    r"sick to death",
    r"tired to death",
    r"worried to death",
    r"(?:is|are) killing me",
    r"killing it",
    r"killed it",
    r"kill for (?:a|some)",
    r"dead tired",
    r"dead on my feet",
    r"i'?m dead(?! serious)",
    r"dying of (?:laughter|boredom|embarrassment|heat|thirst)",
    r"died laughing",
    r"die laughing",
    r"(?:want to |wanna |could )?die of embarrassment",
    r"drop dead gorgeous",
    r"over my dead body",
    r"deadline",
    r"(?:phone|battery) (?:is )?died?",
    r"dead battery",
    r"shoot me (?:a|an) (?:message|email|text)",
    r"booster shot",
    r"vaccine shot",
    r"flu shot",
    r"pain ?killers?",
    r"jump at the chance",
    r"jump on a call",
    r"hang out",
    r"hang in there",
    r"hang on",
    r"cut the line",
    r"cut my hair",
    r"cut back",
    r"cut down on",
    r"to death of",
)

# Negators before a match: zh phrases, with at most three characters between them
# and the match (no pronoun, 了 or punctuation in between: those open a new
# clause, as in "我不会好了我想死", where the wish is not negated).
_ZH_NEGATION = re.compile(
    r"(?:不会|不是|没有|没想过?|从没|从来没|从未|绝不|决不|并不|并没|不再|不打算|没打算|不至于|"
    r"不用担心|别担心|不要担心|并非|不可能|不想|不要)[^我你他她了，,。.!！?？;；:：\s]{0,3}$"
    r"|[不没]$"
)
_ZH_NEGATION_REACH = 7
# English: a negator, then at most three words that are not a new subject and
# no clause punctuation ("I'm not sure why I want to die" is not negated).
_EN_NEGATION = re.compile(
    r"\b(?:not|never|no|don'?t|do not|won'?t|will not|wouldn'?t|would not|isn'?t|"
    r"no longer)\b(?:[^\w.,;!?]+(?!i\b|i'm\b|you\b|he\b|she\b|they\b|we\b)[\w']+){0,3}"
    r"[^\w.,;!?]*$"
    r"|\bnot (?:like|that) (?:i|i'?m)\s*$"
)
_EN_NEGATION_REACH = 48
# A past-tense marker earlier in the same clause dampens a risk signal,
# unless the clause says it went on ("去年开始就想死", "since last year").
_PAST = re.compile(
    r"(?:以前|曾经|之前|那时|那会儿|当时|当年|年前|小时候|上学的时候|去年|前几年|那几年|"
    r"有段时间|大学时|上学时|年轻时|高中时|初中时|上个月|上上个月|个月前|"
    r"[0-9一二三四五六七八九十]{1,3}月份|"
    r"\b(?:used to|years ago|a year ago|a while ago|back then|in the past|"
    r"when i was|a few years|last year|"
    r"last (?:winter|summer|spring|autumn|fall|month)|long time ago|months ago|"
    r"weeks ago|at one point|had (?:thought|tried)|as a teen|"
    r"was in a (?:really )?dark place))"
    r"(?![^，,。.!！?？;；\n]*(?:开始|以来|到现在|至今|一直|还是|又|"
    r"\bsince\b|\bstill\b|\bagain\b))"
    r"[^，,。.!！?？;；\n]*$"
)
# A time in the past later in the same clause ("I had a panic attack last
# month"), but not a duration that reaches now ("since last month"). Last
# week is too recent to dampen anything: a threat or saved pills still stand.
_PAST_AFTER = re.compile(
    r"[^，,。.!！?？;；\n]*?(?<!since )(?<!the )(?<!this )\b(?:last (?:month|year|"
    r"winter|summer|spring|autumn|fall)|(?:weeks|months|years) ago)\b"
)
_PAST_REACH = 60
# Risk words about fiction, the news or a misunderstanding in the same clause
# ("剧里女主跳楼那集", "朋友以为我要自杀") are reported, not disclosed.
_REPORTED = re.compile(
    r"(?:剧里|电视剧|电影|新闻|小说|韩剧|美剧|纪录片|角色|男主|女主|历史课|课上|刷到|网上看到|"
    r"看到一条|听说|据说|以为我|报道|"
    r"\b(?:movie|film|the show|series|novel|news|article|"
    r"book|character|documentary|read about|heard that|thought i was|story))"
    r"[^，,。.!！?？;；\n]*$"
)
_REPORTED_REACH = 30

# Signal kinds that make a message urgent; used for rule floors and the cap.
RISK_KINDS = (
    "intent",
    "self_harm",
    "plan",
    "means",
    "time",
    "farewell",
    "act",
    "violence",
    "medical_emergency",
    "panic",
    "abuse",
    "medication_stopped",
    "hopelessness",
)
KINDS = (*LEXICON, "need", "idiom")
# Kinds whose suppressed presence lets the model's crisis call be capped.
_STRONG_KINDS = frozenset(
    {"intent", "self_harm", "plan", "act", "violence", "farewell", "idiom"}
)
STATUSES = ("active", "negated", "idiom", "past", "reported")
# Texts longer than this go to a small cache of their own (memory stays bounded).
_CACHE_LIMIT = 2000
# Longest text read in full; longer ones are read at their head and tail.
MAX_ANALYSED = 8000


class Match(NamedTuple):
    """A lexicon hit on normalised text."""

    kind: str
    name: str
    lang: str
    start: int
    end: int
    status: str


class Signal(NamedTuple):
    """A rule signal with its span [start, end) in the original text."""

    name: str
    kind: str
    lang: str
    start: int
    end: int
    text: str
    status: str = "active"

    def to_dict(self) -> dict[str, object]:
        """Serialise for JSON (DESIGN §3 `signals` items)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "lang": self.lang,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "status": self.status,
        }


_LEADING_GROUP = re.compile(r"^\(\?:([^()]*)\)(\??)(.*)$", re.DOTALL)
_CJK = re.compile(r"[\u3400-\u9fff]")


def _expand_leading(pattern: str) -> list[str]:
    """Split a leading "(?:a|b)rest" into "arest", "brest".

    The regex engine skips ahead by first character only when every branch
    starts with a literal, so leading groups are expanded at compile time.
    """
    match = _LEADING_GROUP.match(pattern)
    if match is None:
        return [pattern]
    options, optional, rest = match.groups()
    expanded = [option + rest for option in options.split("|")]
    if optional:
        expanded.append(rest)
    return [item for option in expanded for item in _expand_leading(option)]


_METACHARACTERS = frozenset("\\()[]{}.*+?|^$")


def _literal_prefix(pattern: str) -> str:
    """Literal characters that every match of pattern starts with."""
    length = 0
    while length < len(pattern) and pattern[length] not in _METACHARACTERS:
        length += 1
    if length < len(pattern) and pattern[length] in "?*{":
        length -= 1  # the last literal is optional
    return pattern[:length]


_PREFIX_LIMIT = 400
_ESCAPED_LITERALS = frozenset("\\.^$*+?{}[]()|-/'\" ")


class _Unenumerable(ValueError):
    """A part of a pattern whose possible first characters are too many to list."""


def _possible_prefixes(pattern: str, length: int = 2) -> set[str] | None:
    """The strings of up to `length` characters a match of pattern can start with.

    None when the pattern is too open to enumerate (\\d, ., large classes).
    Reads the small regular-expression subset the lexicon is written in
    (literals, non-capturing groups, small character classes, lookarounds,
    bounded repeats); a prefix shorter than `length` means a match can be
    that short.
    """
    try:
        items, position = _parse_sequence(pattern, 0)
    except (_Unenumerable, IndexError):
        return None
    if position != len(pattern):
        return None
    try:
        return _sequence_prefixes(items, length)
    except _Unenumerable:
        return None


# A parsed element: ("set", chars) | ("open", _) for too many characters to
# list | ("zero", None) for an assertion | ("group", [branches]),
# each with a (low, high) repeat; a branch is a list of elements.
_Element = tuple[str, Any, int, int]


def _parse_sequence(pattern: str, position: int) -> tuple[list[Any], int]:
    """Alternatives of a sequence up to ")" or the end: [[elements], ...]."""
    branches: list[list[_Element]] = [[]]
    while position < len(pattern) and pattern[position] != ")":
        char = pattern[position]
        if char == "|":
            branches.append([])
            position += 1
            continue
        element, position = _parse_atom(pattern, position)
        low, high, position = _parse_repeat(pattern, position)
        branches[-1].append((*element, low, high))
    return [("group", branches, 1, 1)], position


def _parse_atom(pattern: str, position: int) -> tuple[tuple[str, Any], int]:
    char = pattern[position]
    if char == "(":
        if pattern.startswith(("(?=", "(?!"), position):
            _, end = _parse_sequence(pattern, position + 3)
            return ("zero", None), end + 1
        if pattern.startswith(("(?<=", "(?<!"), position):
            _, end = _parse_sequence(pattern, position + 4)
            return ("zero", None), end + 1
        if not pattern.startswith("(?:", position):
            raise _Unenumerable(pattern)
        inner, end = _parse_sequence(pattern, position + 3)
        if pattern[end] != ")":
            raise _Unenumerable(pattern)
        return ("group", inner[0][1]), end + 1
    if char == "[":
        return _parse_class(pattern, position + 1)
    if char == "\\":
        escaped = pattern[position + 1]
        if escaped == "b":
            return ("zero", None), position + 2
        if escaped in _ESCAPED_LITERALS:
            return ("set", {escaped}), position + 2
        if escaped in "dDwWsS":
            return ("open", None), position + 2
        raise _Unenumerable(pattern)
    if char in "^$":
        return ("zero", None), position + 1
    if char == ".":
        return ("open", None), position + 1
    if char in "*+?{":
        raise _Unenumerable(pattern)
    return ("set", {char}), position + 1


def _parse_class(pattern: str, position: int) -> tuple[tuple[str, Any], int]:
    chars: set[str] = set()
    negated = pattern[position] == "^"
    if negated:
        position += 1
    first = True
    while first or pattern[position] != "]":
        first = False
        char = pattern[position]
        if char == "\\":
            char = pattern[position + 1]
            if char not in _ESCAPED_LITERALS:
                raise _Unenumerable(pattern)
            position += 1
        if pattern[position + 1] == "-" and pattern[position + 2] != "]":
            last = pattern[position + 2]
            if ord(last) - ord(char) >= 64:
                negated = True  # too many to list
            else:
                chars.update(chr(code) for code in range(ord(char), ord(last) + 1))
            position += 3
            continue
        chars.add(char)
        position += 1
    return ("open" if negated else "set", chars), position + 1


def _parse_repeat(pattern: str, position: int) -> tuple[int, int, int]:
    """(low, high, next position) of a quantifier; high -1 is unbounded."""
    if position >= len(pattern):
        return 1, 1, position
    char = pattern[position]
    if char == "?":
        low, high, position = 0, 1, position + 1
    elif char == "*":
        low, high, position = 0, -1, position + 1
    elif char == "+":
        low, high, position = 1, -1, position + 1
    elif char == "{":
        end = pattern.index("}", position)
        body = pattern[position + 1 : end]
        low_text, comma, high_text = body.partition(",")
        low = int(low_text or 0)
        high = (int(high_text) if high_text else -1) if comma else low
        position = end + 1
    else:
        return 1, 1, position
    if position < len(pattern) and pattern[position] == "?":
        position += 1  # lazy: the same strings
    return low, high, position


def _sequence_prefixes(items: list[_Element], length: int) -> set[str]:
    results = {""}
    for element in items:
        finished = {p for p in results if len(p) >= length}
        growing = results - finished
        if not growing:
            break
        step = _element_prefixes(element, length)
        results = finished | {(p + q)[:length] for p in growing for q in step}
        if len(results) > _PREFIX_LIMIT:
            raise _Unenumerable("too many prefixes")
    return results


def _element_prefixes(element: _Element, length: int) -> set[str]:
    kind, value, low, high = element
    if kind == "zero":
        return {""}
    if kind == "open":
        raise _Unenumerable("too many first characters")
    if kind == "set":
        once = set(value)
    else:
        once = set()
        for branch in value:
            once |= _sequence_prefixes(branch, length)
    result = ({""} if low == 0 else set()) | once
    if high == -1 or high >= 2:
        result |= {(a + b)[:length] for a in once for b in once}
    return result


class _Lexicon:
    """Lexicon entries bucketed by their first characters.

    A single alternation of hundreds of entries makes the regex engine try
    every branch at each position (~15 µs for a 50-character message); here
    the few positions that can start an entry are found in one pass and only
    the entries sharing those first characters are tried. Every entry is
    tried on its own, so overlapping hits of different kinds at one position
    ("舍曲林" psychiatric, "舍曲林吃完" medication stopped) are all found.
    """

    def __init__(self, groups: dict[tuple[str, str], tuple[str, ...]]) -> None:
        labels: dict[str, list[tuple[str, str]]] = {}
        for label, patterns in groups.items():
            for pattern in patterns:
                for item in _expand_leading(pattern):
                    labels.setdefault(item, []).append(label)
        self.chinese: dict[str, list[_Entry]] = {}
        self.latin: dict[str, list[_Entry]] = {}
        # Entries without a literal first character are searched everywhere.
        self.unanchored: list[_Entry] = []
        for item, item_labels in labels.items():
            prefix = _literal_prefix(item)
            is_latin = bool(prefix) and prefix[0].isascii() and prefix[0].isalpha()
            compiled = re.compile(rf"(?:{item})(?![a-z])" if is_latin else item)
            entry = (compiled, tuple(item_labels))
            if is_latin:
                latin_keys = _possible_prefixes(item, 3) or {prefix[:3]}
                for key in latin_keys:
                    self.latin.setdefault(key, []).append(entry)
                continue
            # Every two-character start the entry can have, so that a common
            # first character ("我", "他") only triggers entries whose second
            # character is also there.
            keys = _possible_prefixes(item) or ({prefix[:2]} if prefix else set())
            if not keys or "" in keys:
                self.unanchored.append(entry)
                continue
            for key in keys:
                self.chinese.setdefault(key, []).append(entry)
        self.chinese_starts = frozenset(key[0] for key in self.chinese)

    def hits(self, text: str) -> list[tuple[int, int, tuple[tuple[str, str], ...]]]:
        """Every (start, end, labels) hit, overlapping hits included."""
        tried: list[tuple[int, list[_Entry]]] = []
        chinese = self.chinese
        # Only characters that can start a non-Latin entry are looked up; the
        # intersection with the text's characters runs in C.
        for char in self.chinese_starts.intersection(text):
            position = text.find(char)
            while position != -1:
                if char in chinese:
                    tried.append((position, chinese[char]))
                pair = text[position : position + 2]
                if len(pair) == 2 and pair in chinese:
                    tried.append((position, chinese[pair]))
                position = text.find(char, position + 1)
        if self.latin and _LATIN_LETTER.search(text):
            latin = self.latin
            for word in _WORD_START.finditer(text):
                position = word.start()
                for end in (position + 1, position + 2, position + 3):
                    bucket = latin.get(text[position:end])
                    if bucket is not None:
                        tried.append((position, bucket))
        found = []
        for position, bucket in tried:
            for pattern, labels in bucket:
                match = pattern.match(text, position)
                if match is not None and match.end() > position:
                    found.append((position, match.end(), labels))
        for pattern, labels in self.unanchored:
            for match in pattern.finditer(text):
                if match.end() > match.start():
                    found.append((match.start(), match.end(), labels))
        return found


_Entry = tuple[re.Pattern[str], tuple[tuple[str, str], ...]]


_LATIN_LETTER = re.compile(r"[a-z]")
_WORD_START = re.compile(r"(?<![a-z0-9'])[a-z]")


_ALL_LEXICON = _Lexicon(
    {
        **{(k, n): ps for k, groups in LEXICON.items() for n, ps in groups.items()},
        **{("need", n): ps for n, ps in NEED_LEXICON.items()},
        ("idiom", "idiom"): IDIOMS,
    }
)


def _language(fragment: str) -> str:
    return "zh" if _CJK.search(fragment) else "en"


def _is_negated(text: str, start: int, lang: str) -> bool:
    if lang == "zh":
        window = text[max(0, start - _ZH_NEGATION_REACH) : start]
        return _ZH_NEGATION.search(window) is not None
    window = text[max(0, start - _EN_NEGATION_REACH) : start]
    return _EN_NEGATION.search(window) is not None


def _is_past(text: str, start: int, end: int) -> bool:
    if _PAST.search(text, max(0, start - _PAST_REACH), start) is not None:
        return True
    return _PAST_AFTER.match(text, end, end + _PAST_REACH) is not None


def _is_reported(text: str, start: int) -> bool:
    return _REPORTED.search(text, max(0, start - _REPORTED_REACH), start) is not None


def analysed_spans(length: int) -> list[tuple[int, int]]:
    """The parts of a text of this length that are read: all of it up to
    MAX_ANALYSED characters, else its head and its tail.

    Messages are at most 4,000 characters (the web app refuses more); a
    library caller's longer paste is read where a person puts what matters
    most (the start and the end), so the cost of one call stays bounded.
    """
    if length <= MAX_ANALYSED:
        return [(0, length)]
    half = MAX_ANALYSED // 2
    return [(0, half), (length - half, length)]


def _hits(text: str) -> list[tuple[int, int, tuple[tuple[str, str], ...]]]:
    spans = analysed_spans(len(text))
    if len(spans) == 1:
        return _ALL_LEXICON.hits(text)
    found = []
    for start, end in spans:
        found.extend(
            (s + start, e + start, labels)
            for s, e, labels in _ALL_LEXICON.hits(text[start:end])
        )
    return found


def _scan(text: str) -> tuple[Match, ...]:
    hits = _hits(text)
    idioms = [(start, end) for start, end, labels in hits if labels[0][0] == "idiom"]
    found: list[Match] = [
        Match("idiom", "idiom", _language(text[s:e]), s, e, "idiom") for s, e in idioms
    ]
    # A hit's status depends only on the text around it (within the reaches
    # of the negation, past and reported checks), so repeated fragments
    # ("想死想死想死…") are checked once: the cost of a long paste stays
    # proportional to its length, not to its number of hits.
    statuses: dict[tuple[str, str, str], tuple[str, str]] = {}
    reach = max(_ZH_NEGATION_REACH, _EN_NEGATION_REACH, _PAST_REACH, _REPORTED_REACH)
    for start, end, labels in hits:
        if labels[0][0] == "idiom":
            continue
        inside_idiom = any(s <= start and end <= e for s, e in idioms)
        key = (
            text[max(0, start - reach) : start],
            text[start:end],
            text[end : end + _PAST_REACH] + ("|idiom" if inside_idiom else ""),
        )
        known = statuses.get(key)
        if known is None:
            lang = _language(text[start:end])
            if inside_idiom:
                base_status = "idiom"
            elif _is_negated(text, start, lang):
                base_status = "negated"
            else:
                base_status = "active"
            context = "active"
            if base_status == "active" and any(k in RISK_KINDS for k, _ in labels):
                context = (
                    "reported"
                    if _is_reported(text, start)
                    else "past"
                    if _is_past(text, start, end)
                    else "active"
                )
            status = base_status if base_status != "active" else context
            known = statuses[key] = (lang, status)
        lang, risk_status = known
        for kind, name in labels:
            if risk_status in ("reported", "past") and kind not in RISK_KINDS:
                status = "active"
            else:
                status = risk_status
            label = kind if name == kind else f"{kind}.{name}"
            found.append(Match(kind, label, lang, start, end, status))
    return tuple(_drop_nested(found))


def _drop_nested(matches: list[Match]) -> list[Match]:
    """Sort hits; drop one inside an earlier hit of the same kind and status."""
    matches.sort(key=lambda m: (m.start, -m.end))
    kept: list[Match] = []
    for match in matches:
        if any(
            k.kind == match.kind
            and k.status == match.status
            and k.start <= match.start < k.end
            for k in kept[-8:]
        ):
            continue
        kept.append(match)
    return kept


def scan(normalized_text: str) -> tuple[Match, ...]:
    """Find every lexicon hit (any status) in already-normalised text."""
    return analyze(normalized_text).matches


def detect(text: str | Normalized) -> list[Signal]:
    """Return all signals in text, with spans and matched text from the original."""
    normalized = text if isinstance(text, Normalized) else normalize_with_offsets(text)
    signals = []
    original = normalized.original
    span = normalized.original_span
    for match in scan(normalized.text):
        start, end = span(match.start, match.end)
        signals.append(
            Signal(
                match.name,
                match.kind,
                match.lang,
                start,
                end,
                original[start:end],
                match.status,
            )
        )
    return signals


def signal_kind(name: str) -> str:
    """The kind of a signal name: names are a kind, or a kind and a detail
    ("intent.jump"); staff are shown the kind."""
    return name.partition(".")[0]


def active_kinds(matches: Iterable[Match | Signal]) -> set[str]:
    """Kinds with at least one active (not negated, idiomatic, past or reported) hit."""
    return {m.kind for m in matches if m.status == "active"}


def _evidence(matches: Sequence[Match | Signal]) -> set[str]:
    """Active kinds, not counting a hit that lies inside a suicidal-wish hit.

    "想去天台" is one piece of evidence (a wish), not a wish plus a means.
    Linear in the number of hits (a 100,000-character paste can have 20,000).
    """
    active = [m for m in matches if m.status == "active"]
    wishes = sorted((m.start, m.end) for m in active if m.kind in _WISH_KINDS)
    starts = [start for start, _ in wishes]
    reach: list[int] = []  # furthest end among the wishes up to this one
    for _, end in wishes:
        reach.append(max(end, reach[-1]) if reach else end)
    kinds = set()
    for match in active:
        if match.kind not in _WISH_KINDS and wishes:
            index = bisect_right(starts, match.start) - 1
            if index >= 0 and reach[index] >= match.end:
                continue
        kinds.add(match.kind)
    return kinds


_WISH_KINDS = frozenset({"intent", "self_harm"})


def rule_floor(matches: Sequence[Match | Signal]) -> tuple[str | None, list[str]]:
    """Lowest level the rules allow, with the reasons (explicit plan → crisis).

    Crisis: an act under way; a suicidal wish with a plan, time or farewell,
    or with means unless the wish is described as recurring ("每天都想去天台"
    is ideation: high); a plan with means; a farewell; violence to others; a
    medical emergency. High: a suicidal wish, self-harm, panic attack, abuse,
    or a psychiatric patient whose medication stopped. Moderate: a word of
    hopelessness ("我很绝望" is too short for the model to raise on its own).
    """
    kinds = _evidence(matches)
    habitual = "habitual" in kinds
    crisis: list[str] = []
    high: list[str] = []
    if "act" in kinds:
        (high if habitual else crisis).append("act under way")
    if "intent" in kinds:
        urgent = kinds & {"plan", "time", "farewell"}
        if urgent:
            crisis.append(f"suicidal wish with {'+'.join(sorted(urgent))}")
        elif "means" in kinds:
            (high if habitual else crisis).append("suicidal wish with means")
    if {"plan", "means"} <= kinds:
        crisis.append("plan with means")
    names = {m.name for m in matches if m.status == "active"}
    if "plan.withdrawal" in names and (
        "means" in kinds or names & {"plan", "plan.date_set"}
    ):
        crisis.append("plan or means with a wish to be left alone")
    if "plan.date_set" in names and kinds & {"intent", "means", "farewell"}:
        crisis.append("a date set")
    if "farewell" in kinds:
        crisis.append("farewell")
    if "violence" in kinds:
        crisis.append("violence to others")
    if "medical_emergency" in kinds:
        crisis.append("medical emergency")
    if crisis:
        return "crisis", crisis
    for kind in ("intent", "self_harm", "abuse"):
        if kind in kinds:
            high.append(kind.replace("_", " "))
    if any(m.name == "panic.attack" and m.status == "active" for m in matches):
        high.append("panic attack")
    psychiatric_stop = any(
        m.name == "medication_stopped.psychiatric_drug" and m.status == "active"
        for m in matches
    )
    if psychiatric_stop or {"medication_stopped", "psychiatric"} <= kinds:
        high.append("psychiatric medication stopped")
    if high:
        return "high", list(dict.fromkeys(high))
    if "hopelessness" in kinds:
        return "moderate", ["hopelessness"]
    return None, []


def is_suppressed_only(matches: Sequence[Match | Signal]) -> bool:
    """True when risk words appear only negated, as idioms or in the past tense."""
    suppressed = any(m.status != "active" and m.kind in _STRONG_KINDS for m in matches)
    if not suppressed:
        return False
    return not any(m.status == "active" and m.kind in RISK_KINDS for m in matches)


_MEDICAL_ACTS = frozenset({"act.overdose", "act.bleeding"})


def emergency_needs(matches: Iterable[Match | Signal]) -> set[str]:
    """`medical` for an injury, bleeding, overdose or poisoning under way, or
    any medical emergency: always given, whatever the needs models say."""
    if any(
        m.status == "active"
        and (m.kind == "medical_emergency" or m.name in _MEDICAL_ACTS)
        for m in matches
    ):
        return {"medical"}
    return set()


def rule_needs(matches: Iterable[Match | Signal]) -> set[str]:
    """Needs tags named by active need entries."""
    needs = {
        m.name.removeprefix("need.")
        for m in matches
        if m.kind == "need" and m.status == "active"
    }
    needs |= emergency_needs(matches)
    # Running out of regular medication is a medicine need even when it is
    # phrased as a stop ("断药"), which the risk lexicon records separately.
    if any(m.kind == "medication_stopped" and m.status == "active" for m in matches):
        needs.add("medicine")
    return needs


FEATURE_NAMES: tuple[str, ...] = (
    *(f"{kind}:{status}" for kind in (*LEXICON, "idiom") for status in STATUSES),
    *(f"need:{name}" for name in NEED_LEXICON),
    "floor:crisis",
    "floor:high",
    "suppressed_only",
)
_FEATURE_INDEX = {name: index for index, name in enumerate(FEATURE_NAMES)}


class Analysis(NamedTuple):
    """Everything the rules say about one normalised text."""

    matches: tuple[Match, ...]
    floor: str | None
    reasons: tuple[str, ...]
    suppressed_only: bool
    features: tuple[float, ...]


def _analyze(normalized_text: str) -> Analysis:
    matches = _scan(normalized_text)
    floor, reasons = rule_floor(matches)
    suppressed_only = is_suppressed_only(matches)
    values = [0.0] * len(FEATURE_NAMES)
    for match in matches:
        if match.kind == "need":
            if match.status != "active":
                continue
            key = f"need:{match.name.removeprefix('need.')}"
        else:
            key = f"{match.kind}:{match.status}"
        index = _FEATURE_INDEX.get(key)
        if index is not None:
            values[index] = 1.0
    if floor in ("crisis", "high"):
        values[_FEATURE_INDEX[f"floor:{floor}"]] = 1.0
    if suppressed_only:
        values[_FEATURE_INDEX["suppressed_only"]] = 1.0
    return Analysis(matches, floor, tuple(reasons), suppressed_only, tuple(values))


# One message is analysed several times per assessment (model features,
# rule floor, spans, needs); the cache makes the repeats free. Long texts
# have a small cache of their own so memory stays bounded (a long message is
# still analysed once per assessment, not once per use).
_analyze_cached = lru_cache(maxsize=16384)(_analyze)
_analyze_long = lru_cache(maxsize=8)(_analyze)


def analyze(normalized_text: str) -> Analysis:
    """Hits, rule floor, suppression and model features of normalised text."""
    if len(normalized_text) > _CACHE_LIMIT:
        return _analyze_long(normalized_text)
    return _analyze_cached(normalized_text)


def clear_caches() -> None:
    """Forget cached analyses (for timing measurements and tests)."""
    _analyze_cached.cache_clear()
    _analyze_long.cache_clear()


def feature_vector(normalized_text: str) -> tuple[float, ...]:
    """Numeric rule features for the model (presence per kind and status)."""
    return analyze(normalized_text).features


# Kinds that describe how something is said rather than what risk it names.
CONTEXT_KINDS = ("question", "gratitude", "joking", "habitual", "recovery", "idiom")
# Model features: the context in which risk words appear (negated, idiomatic,
# past, reported) and the context kinds. Whether a risk word is present at all
# is left to the rule floors: as model features the hand-written risk lexicon
# made the classifier lean on it and generalise worse to unseen phrasing
# (docs/triage-model-card.md, "Method").
CONTEXT_FEATURES: tuple[str, ...] = tuple(
    name
    for name in FEATURE_NAMES
    if name.partition(":")[2] in ("negated", "idiom", "past", "reported")
    or (name.partition(":")[0] in CONTEXT_KINDS and name.endswith(":active"))
    or name == "suppressed_only"
)
