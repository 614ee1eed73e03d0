"""The demo responsibility list (权责清单): facility (部件, codes F..) and event (事件, E..)
classes, the tier and department that answer for each, and their time limits.

Limits follow the sources: departments report on site within 30 minutes for urgent
matters (Beijing), sign for a task within 1 h (Nanjing), fix in hours where life or
traffic is at risk and in 3/5/7/15 working days otherwise (Nanjing, Beijing 12345).
Urgent county matters (gas, flooding, collapse, signals) skip the leader's confirmation:
waiting for a signature would defeat the 30-minute rule. Every grid-tier entry escalates
to a code that exists both as a township office and as a county department, so its
whistle can be raised to level 2 and then to level 3. The agriculture entries name an
office only towns have: in a street such a case waits for a dispatcher to choose.

The list is kept as two tables, as the published lists are: names, then rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.enums import CaseClass, HandlingTier, TimeUnit

GRID_OFFICE = "grid_office"  # the routing module's name for the township's grid centre

# code | 名称 | English name | pinyin (toneless, by syllable)
NAMES = """
F01 | 井盖缺失 | Missing manhole cover | jing gai que shi
F02 | 井盖破损 | Damaged manhole cover | jing gai po sun
F03 | 路灯不亮 | Street light out | lu deng bu liang
F04 | 交通信号灯故障 | Traffic signal fault | jiao tong xin hao deng gu zhang
F05 | 道路破损 | Damaged road surface | dao lu po sun
F06 | 消防栓损坏 | Damaged fire hydrant | xiao fang shuan sun huai
F07 | 垃圾桶破损 | Damaged rubbish bin | la ji tong po sun
F08 | 公共座椅损坏 | Broken public bench | gong gong zuo yi sun huai
F09 | 护栏损坏 | Damaged guardrail | hu lan sun huai
F10 | 绿化带缺损 | Damaged green belt | lv hua dai que sun
F11 | 供水管道漏水 | Water main leak | gong shui guan dao lou shui
F12 | 雨水箅子堵塞 | Blocked storm drain grate | yu shui bi zi du se
F13 | 公厕设施损坏 | Broken public toilet fittings | gong ce she shi sun huai
F14 | 道路指示牌缺损 | Damaged road sign | dao lu zhi shi pai que sun
F15 | 治安监控损坏 | Damaged public CCTV camera | zhi an jian kong sun huai
F16 | 健身器材损坏 | Damaged fitness equipment | jian shen qi cai sun huai
E01 | 违法建设 | Illegal construction | wei fa jian she
E02 | 私搭乱建 | Unauthorised shed or lean-to | si da luan jian
E03 | 占道经营 | Street vending on the road | zhan dao jing ying
E04 | 乱堆物料 | Materials piled on the road | luan dui wu liao
E05 | 乱贴乱画 | Illegal flyers and graffiti | luan tie luan hua
E06 | 噪声扰民 | Noise nuisance | zao sheng rao min
E07 | 夜间施工噪声 | Construction noise at night | ye jian shi gong zao sheng
E08 | 偷排污水 | Illegal sewage discharge | tou pai wu shui
E09 | 露天焚烧垃圾 | Open burning of rubbish | lu tian fen shao la ji
E10 | 餐饮油烟扰民 | Restaurant cooking fumes | can yin you yan rao min
E11 | 食品安全 | Food safety | shi pin an quan
E12 | 无证经营 | Unlicensed business | wu zheng jing ying
E13 | 价格欺诈 | Price fraud | jia ge qi zha
E14 | 消防隐患 | Fire hazard | xiao fang yin huan
E15 | 电动车违规充电 | E-bike charging in a stairwell | dian dong che wei gui chong dian
E16 | 楼道堆物 | Clutter blocking a stairwell | lou dao dui wu
E17 | 燃气泄漏 | Gas leak | ran qi xie lou
E18 | 危化品违规存放 | Hazardous chemicals stored illegally | wei hua pin wei gui cun fang
E19 | 安全生产隐患 | Workplace safety hazard | an quan sheng chan yin huan
E20 | 道路塌陷 | Road collapse | dao lu ta xian
E21 | 违章停车 | Illegal parking | wei zhang ting che
E22 | 非法营运 | Unlicensed taxi service | fei fa ying yun
E23 | 城市内涝 | Urban flooding | cheng shi nei lao
E24 | 河道漂浮物 | Rubbish floating in a river | he dao piao fu wu
E25 | 垃圾满溢 | Overflowing rubbish bins | la ji man yi
E26 | 暴露垃圾 | Rubbish dumped in the open | bao lu la ji
E27 | 拖欠工资 | Wage arrears | tuo qian gong zi
E28 | 劳动纠纷 | Labour dispute | lao dong jiu fen
E29 | 独居老人照护 | Care for an elderly person living alone | du ju lao ren zhao hu
E30 | 困难群众救助 | Hardship assistance | kun nan qun zhong jiu zhu
E31 | 疫情防控 | Epidemic prevention and control | yi qing fang kong
E32 | 医疗废物乱弃 | Medical waste dumped | yi liao fei wu luan qi
E33 | 非法行医 | Illegal medical practice | fei fa xing yi
E34 | 邻里纠纷 | Neighbour dispute | lin li jiu fen
E35 | 物业纠纷 | Property management dispute | wu ye jiu fen
E36 | 房屋安全隐患 | Unsafe building | fang wu an quan yin huan
E37 | 工地扬尘 | Construction site dust | gong di yang chen
E38 | 网吧接纳未成年人 | Internet café admitting minors | wang ba jie na wei cheng nian ren
E39 | 旅游投诉 | Tourist complaint | lv you tou su
E40 | 流浪乞讨 | Homeless person or begging | liu lang qi tao
E41 | 宠物扰民 | Pet nuisance | chong wu rao min
E42 | 秸秆焚烧 | Straw burning | jie gan fen shao
E43 | 违规占用耕地 | Farmland occupied illegally | wei gui zhan yong geng di
E44 | 违规养殖污染 | Livestock farm pollution | wei gui yang zhi wu ran
"""

# code | tier | primary | cooperating | escalation | acknowledge | check in | resolve | confirm
RULES = """
F01 | township | urban       | water                | urban     | 15m | 30m |   4h | no
F02 | township | urban       | water                | urban     | 30m |  1h |  1wd | no
F03 | township | urban       | -                    | urban     |  1h |  2h |  3wd | no
F04 | county   | police      | transport            | -         | 15m | 30m |   4h | no
F05 | county   | transport   | urban                | -         |  1h |  2h |  5wd | yes
F06 | county   | emergency   | water                | -         |  1h |  2h |  3wd | yes
F07 | grid     | grid_office | -                    | urban     |  1h |  2h |  3wd | no
F08 | grid     | grid_office | -                    | urban     |  2h |  2h |  5wd | no
F09 | township | urban       | transport            | transport |  1h |  2h |  3wd | no
F10 | township | urban       | -                    | urban     |  2h |  2h |  7wd | no
F11 | county   | water       | urban                | -         | 30m |  1h |  24h | no
F12 | grid     | grid_office | -                    | urban     |  1h |  1h |  2wd | no
F13 | township | urban       | -                    | urban     |  1h |  2h |  3wd | no
F14 | county   | transport   | -                    | -         |  2h |  2h |  7wd | yes
F15 | county   | police      | -                    | -         |  2h |  2h |  5wd | yes
F16 | township | civil       | -                    | culture   |  2h |  2h |  7wd | no
E01 | township | urban       | housing              | housing   |  1h |  2h | 15wd | yes
E02 | grid     | grid_office | -                    | urban     |  1h |  2h |  5wd | no
E03 | grid     | grid_office | -                    | urban     | 30m |  1h |  24h | no
E04 | grid     | grid_office | -                    | urban     |  1h |  1h |  2wd | no
E05 | grid     | grid_office | -                    | urban     |  1h |  2h |  2wd | no
E06 | township | urban       | ecology,police       | ecology   | 30m |  1h |  24h | no
E07 | county   | ecology     | housing              | -         | 30m |  1h |  24h | yes
E08 | county   | ecology     | water                | -         | 30m |  1h |  3wd | yes
E09 | grid     | grid_office | -                    | urban     | 30m | 30m |   4h | no
E10 | county   | ecology     | market               | -         |  2h |  2h |  7wd | yes
E11 | county   | market      | health               | -         | 30m |  1h |  3wd | yes
E12 | county   | market      | urban                | -         |  2h |  2h |  7wd | yes
E13 | county   | market      | -                    | -         |  2h |  2h |  7wd | yes
E14 | township | emergency   | police               | emergency | 30m |  1h |  24h | yes
E15 | grid     | grid_office | -                    | emergency | 30m |  1h |  24h | no
E16 | grid     | grid_office | -                    | emergency |  1h |  2h |  2wd | no
E17 | county   | emergency   | police,housing       | -         | 15m | 30m |   4h | no
E18 | county   | emergency   | police,market        | -         | 30m |  1h |  3wd | yes
E19 | township | emergency   | -                    | emergency |  1h |  2h |  5wd | yes
E20 | county   | transport   | urban,water,police   | -         | 15m | 30m |  12h | no
E21 | county   | police      | urban                | -         | 30m |  1h |   4h | no
E22 | county   | transport   | police               | -         |  2h |  2h |  7wd | yes
E23 | county   | water       | urban,emergency      | -         | 15m | 30m |   6h | no
E24 | county   | water       | urban                | -         |  2h |  2h |  3wd | yes
E25 | grid     | grid_office | -                    | urban     | 30m |  1h |  12h | no
E26 | grid     | grid_office | -                    | urban     |  1h |  1h |  24h | no
E27 | township | hrss        | police               | hrss      |  1h |  2h |  7wd | yes
E28 | township | hrss        | -                    | hrss      |  2h |  2h | 15wd | yes
E29 | grid     | grid_office | -                    | civil     | 30m |  1h |  24h | no
E30 | township | civil       | -                    | civil     |  1h |  2h |  5wd | yes
E31 | county   | health      | civil,market         | -         | 15m | 30m |  24h | no
E32 | county   | health      | ecology              | -         | 30m |  1h |  3wd | yes
E33 | county   | health      | market               | -         |  2h |  2h | 15wd | yes
E34 | grid     | grid_office | -                    | civil     |  1h |  2h |  3wd | no
E35 | township | housing     | -                    | housing   |  2h |  2h | 15wd | yes
E36 | county   | housing     | emergency            | -         | 30m |  1h |  5wd | yes
E37 | county   | housing     | ecology              | -         |  1h |  2h |  3wd | yes
E38 | county   | culture     | police               | -         |  2h |  2h |  7wd | yes
E39 | county   | culture     | market               | -         |  2h |  2h |  7wd | yes
E40 | township | civil       | police               | civil     |  1h |  2h |  24h | no
E41 | grid     | grid_office | -                    | urban     |  1h |  2h |  3wd | no
E42 | township | agriculture | ecology              | ecology   | 30m |  1h |  24h | yes
E43 | township | agriculture | housing              | housing   |  2h |  2h | 15wd | yes
E44 | township | agriculture | ecology              | ecology   |  1h |  2h |  7wd | yes
"""

_UNITS = {"m": TimeUnit.MINUTES, "h": TimeUnit.HOURS, "wd": TimeUnit.WORK_DAYS}
_LIMIT = re.compile(r"^(\d+)(m|h|wd)$")


@dataclass(frozen=True)
class EntrySeed:
    code: str
    name_zh: str
    name_en: str
    pinyin: str
    case_class: CaseClass
    tier: HandlingTier
    primary_department: str
    cooperating_departments: tuple[str, ...]
    escalation_department: str | None
    ack: tuple[int, TimeUnit]
    checkin: tuple[int, TimeUnit]
    resolve: tuple[int, TimeUnit]
    needs_confirmation: bool


def _rows(table: str) -> dict[str, list[str]]:
    rows = [[cell.strip() for cell in line.split("|")] for line in table.strip().splitlines()]
    return {row[0]: row[1:] for row in rows}


def _limit(text: str) -> tuple[int, TimeUnit]:
    match = _LIMIT.match(text)
    if match is None:
        raise ValueError(f"bad time limit {text!r}")
    return int(match[1]), _UNITS[match[2]]


def _entries() -> tuple[EntrySeed, ...]:
    names, rules = _rows(NAMES), _rows(RULES)
    if names.keys() != rules.keys():
        raise ValueError(f"names and rules differ: {names.keys() ^ rules.keys()}")
    out = []
    for code, (zh, en, pinyin) in names.items():
        tier, primary, coop, esc, ack, checkin, resolve, confirm = rules[code]
        out.append(
            EntrySeed(
                code=code,
                name_zh=zh,
                name_en=en,
                pinyin=pinyin,
                case_class=CaseClass.FACILITY if code.startswith("F") else CaseClass.EVENT,
                tier=HandlingTier(tier),
                primary_department=primary,
                cooperating_departments=() if coop == "-" else tuple(coop.split(",")),
                escalation_department=None if esc == "-" else esc,
                ack=_limit(ack),
                checkin=_limit(checkin),
                resolve=_limit(resolve),
                needs_confirmation={"yes": True, "no": False}[confirm],
            )
        )
    return tuple(out)


ENTRIES: tuple[EntrySeed, ...] = _entries()
